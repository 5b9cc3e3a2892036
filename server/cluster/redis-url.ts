// Kept apart from redis-client.ts so code that only logs a URL does not load the redis package.

/**
 * The URL with its password replaced by `***`, fit for logs. Anything that does not parse as a
 * URL is not echoed at all, since it could be a bare secret.
 */
export function redactRedisUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '[unparseable redis url]';
  }
  if (parsed.password !== '') parsed.password = '***';
  // node-redis ignores query strings; drop them so no `?password=` slips through.
  parsed.search = '';
  parsed.hash = '';
  return parsed.toString();
}
