import { createApp } from './app';
import { ConfigError, loadConfig } from './config';
import { createLogger } from './logger';
import { createShutdown, handleStopSignals } from './shutdown';
import { resolveTls, serverUrls } from './tls';

let config;
try {
  config = loadConfig(process.env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(1);
}

const logger = createLogger(config.logLevel);
// `npm start -- --self-signed` or SELF_SIGNED=1: HTTPS with a local certificate.
const tls = await resolveTls(config, {
  selfSigned: config.tls.selfSigned || process.argv.includes('--self-signed'),
});
if (tls) {
  logger.info({ certFile: tls.certFile, source: tls.source }, 'tls certificate');
}
const server = createApp({ config, logger, tls: tls ?? undefined });
handleStopSignals(createShutdown({ server, logger }));
const { port } = await server.listen();
const urls = serverUrls(server.scheme, config.host, port);
logger.info({ port, host: config.host, url: urls[0], urls }, 'listening');
if (tls && tls.source !== 'files') {
  logger.info(
    { urls: urls.slice(1) },
    'self-signed certificate: on a phone on the same network open one of these URLs and accept the warning once',
  );
}
