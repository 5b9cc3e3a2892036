/**
 * English strings: the source of truth for message keys. Every other locale is typed
 * `Messages`, so a missing or extra key is a compile error. `{name}` marks a parameter.
 */
export const en = {
  'app.name': 'roomcast',
  'app.tagline': 'Go live in seconds. Share a 6-digit room number.',
  'app.skipToContent': 'Skip to content',
  'nav.home': 'Home',
  'nav.broadcast': 'Broadcast',
  'lang.label': 'Language',

  'home.heroTitle': 'Live video by room number',
  'home.heroBody':
    'Stream your camera or screen straight to viewers over WebRTC. No account, no install.',
  'home.startBroadcast': 'Start broadcast',
  'home.joinTitle': 'Join a room',
  'home.joinLabel': 'Room number',
  'home.joinPlaceholder': '123456',
  'home.joinHint': 'Type or paste the 6 digits, or a watch link.',
  'home.joinSubmit': 'Watch',
  'home.joinError': 'Enter exactly 6 digits (for example 123456).',
  'home.liveNow': 'Live now',
  'home.liveEmpty': 'No public broadcasts right now.',
  'home.liveError': 'Could not load the list of live rooms.',
  'home.liveViewers': '{count} watching',
  'home.untitled': 'Untitled broadcast',

  'broadcast.title': 'Broadcast',
  'broadcast.preview': 'Preview',
  'broadcast.noPreview': 'No camera or screen yet.',
  'broadcast.source': 'Source',
  'broadcast.sourceCamera': 'Camera',
  'broadcast.sourceScreen': 'Screen',
  'broadcast.screenUnsupported': 'Screen sharing is not supported in this browser.',
  'broadcast.camera': 'Camera',
  'broadcast.microphone': 'Microphone',
  'broadcast.deviceFallback': 'Device {n}',
  'broadcast.micOn': 'Mic on',
  'broadcast.micOff': 'Mic off',
  'broadcast.quality': 'Quality',
  'broadcast.codec': 'Preferred codec',
  'broadcast.codecAuto': 'Auto',
  'broadcast.listed': 'List on the home page',
  'broadcast.titleLabel': 'Title (optional)',
  'broadcast.passwordLabel': 'Room password (optional)',
  'broadcast.passwordHint': 'Viewers must type it to join.',
  'broadcast.tokenLabel': 'Broadcast token',
  'broadcast.tokenHint':
    'This server lets only people with its token go live. It is remembered on this device.',
  'broadcast.titlePlaceholder': 'What are you streaming?',
  'broadcast.goLive': 'Go live',
  'broadcast.goingLive': 'Going live…',
  'broadcast.live': 'Live',
  'broadcast.reconnecting': 'Connection lost; reconnecting. Viewers stay in the room.',
  'broadcast.roomCode': 'Room number',
  'broadcast.copyLink': 'Copy link',
  'broadcast.copied': 'Copied!',
  'broadcast.copyFailed': 'Copy failed; select the link instead.',
  'broadcast.qrLabel': 'QR code of the watch link',
  'broadcast.viewers': 'Viewers',
  'broadcast.viewerCount': 'watching',
  'broadcast.noViewers': 'No viewers yet. Share the room number.',
  'broadcast.upload': 'Upload {kbps} kbps',
  'broadcast.stop': 'Stop broadcast',
  'broadcast.stopped': 'Your broadcast has ended.',
  'broadcast.closedByAdmin': 'An administrator closed this room.',
  'broadcast.connecting': 'Connecting to the server…',

  'viewers.id': 'Viewer',
  'viewers.path': 'Path',
  'viewers.bitrate': 'Bitrate',
  'viewers.codec': 'Codec',
  'viewers.fps': 'FPS',
  'viewers.resolution': 'Resolution',
  'viewers.rtt': 'RTT',
  'viewers.loss': 'Loss',

  'watch.title': 'Room {room}',
  'watch.connecting': 'Connecting…',
  'watch.waiting': 'Waiting for the broadcaster…',
  'watch.broadcasterAway': 'The broadcaster lost connection; waiting for them to come back.',
  'watch.reconnecting': 'Connection lost; reconnecting…',
  'watch.ended': 'The broadcast has ended',
  'watch.notFound': 'Room not found',
  'watch.notFoundBody': 'No live broadcast has the number {room}. Check the number and try again.',
  'watch.passwordLabel': 'Password (if the room has one)',
  'watch.passwordJoin': 'Join with password',
  'watch.full': 'This room is full',
  'watch.fullBody': 'The room has reached its viewer limit. Try again later.',
  'watch.error': 'Something went wrong',
  'watch.backHome': 'Back to home',
  'watch.unmute': 'Unmute',
  'watch.mute': 'Mute',
  'watch.fullscreen': 'Fullscreen',
  'watch.pip': 'Picture in picture',
  'watch.stats': 'Stats',

  'stats.bitrate': 'Bitrate',
  'stats.fps': 'FPS',
  'stats.resolution': 'Resolution',
  'stats.codec': 'Codec',
  'stats.rtt': 'RTT',
  'stats.loss': 'Loss',
  'stats.path': 'Path',
  'stats.viewers': 'Viewers',
  'stats.kbps': '{value} kbps',
  'stats.ms': '{value} ms',
  'stats.pct': '{value}%',
  'stats.unknown': '—',

  'path.direct': 'Direct',
  'path.turn': 'TURN',
  'path.relay': 'Relay',
  'path.hls': 'HLS',

  'chat.title': 'Chat',
  'chat.placeholder': 'Say something…',
  'chat.send': 'Send',
  'chat.empty': 'No messages yet.',
  'chat.label': 'Chat message',

  'notFound.title': 'Page not found',
  'notFound.body': 'There is nothing at this address.',

  'error.INVALID_PAYLOAD': 'The request was malformed.',
  'error.ROOM_NOT_FOUND': 'No live room has that number.',
  'error.ROOM_FULL': 'This room has reached its viewer limit.',
  'error.NOT_BROADCASTER': 'Only the broadcaster of this room can do that.',
  'error.NOT_IN_ROOM': 'Join a room first.',
  'error.ALREADY_IN_ROOM': 'Leave the current room first.',
  'error.PEER_NOT_FOUND': 'That peer is not in your room.',
  'error.RATE_LIMITED': 'Too many requests; slow down and try again shortly.',
  'error.UNAUTHORIZED': 'Not allowed.',
  'error.SERVER_BUSY': 'The server is at capacity; try again later.',
  'error.INTERNAL_ERROR': 'Something went wrong on the server.',
  'error.TIMEOUT': 'The server did not answer in time.',
  'error.DISCONNECTED': 'Not connected to the server.',
  'error.media': 'Could not start the camera or screen: {detail}',
  'error.connect': 'Could not reach the server.',
  'error.reclaim': 'Could not resume the broadcast after reconnecting.',
  'error.broadcastToken': 'The broadcast token was not accepted. Check it and try again.',

  'nav.check': 'Connection check',
  'viewers.reason': 'Reason',
  'stats.reason': 'Why this path',

  'reason.turnTcp': 'UDP blocked; using TURN over TCP',
  'reason.turnTls': 'UDP blocked; using TURN over TLS',
  'reason.turnUdp': 'Direct connection failed; using TURN over UDP',
  'reason.turnForced': 'Hiding your IP address; using TURN over {protocol}',
  'reason.relayForced': 'Relay forced by ?path=relay',
  'reason.relayBroadcaster':
    'The broadcaster chose to send only through the server relay; using the server relay',
  'reason.relayFallback': 'No WebRTC media after {seconds} s; using the server relay',
  'reason.relayCodec':
    "This browser can't decode {codec} over WebRTC; using the server relay, decoded with WebCodecs",
  'reason.noPathCodec':
    "No media path works: this browser can't decode {codec} over WebRTC and the server relay is not available",
  'reason.relayOverflow': "The broadcaster's mesh is full; using the server relay",
  'reason.relaySaturated': "The broadcaster's upload is saturated; using the server relay",
  'reason.noPath':
    'No media path works: no WebRTC media after {seconds} s and the server relay is switched off',
  'reason.relayUnavailable':
    'No media path works: the server relay is switched off, so ?path=relay cannot be used; trying WebRTC',

  'reason.relayUnplayable':
    'This browser cannot decode the server relay (no WebCodecs); no other path works',
  'reason.noPathUnplayable':
    'No media path works: no WebRTC media after {seconds} s and this browser cannot decode the server relay',
  'reason.hlsChosen': 'You switched to the HLS mirror: a few seconds behind live',
  'reason.hlsRelayOff':
    'No WebRTC media after {seconds} s and the server relay is off; using the HLS mirror (a few seconds behind)',
  'reason.hlsRelayUnplayable':
    'WebRTC failed and this browser cannot decode the server relay; using the HLS mirror (a few seconds behind)',

  'ladder.hideIp': 'Hide my IP address',
  'ladder.hideIpHint':
    'Media goes through the TURN server, so the other side never sees your address.',
  'ladder.retrying': 'Trying WebRTC again in the background…',
  'ladder.relayOnlyBroadcast':
    'Relay only (?path=relay): viewers get no WebRTC connection and switch to the server relay.',
  'broadcast.relayUpstreamOn': 'Relay upstream: on ({codec}, {mbps} Mbps)',
  'broadcast.relayUpstreamOff': 'Relay upstream: off',
  'broadcast.relayUpstreamError': 'Relay upstream failed: {detail}',
  'broadcast.pathCounts': 'Paths: {direct} direct · {turn} TURN · {relay} relay',

  'check.title': 'Connection check',
  'check.intro':
    'This test checks which ways your browser can exchange video with others: directly, through the TURN server, or through the server relay.',
  'check.run': 'Run the check',
  'check.running': 'Checking…',
  'check.done': 'Done: {ok} fine, {warn} warnings, {fail} failed.',
  'check.status.ok': 'Works',
  'check.status.warn': 'Warning',
  'check.status.fail': 'Failed',
  'check.name.signalling': 'Server connection',
  'check.name.host': 'Local network addresses',
  'check.name.stun': 'STUN (public address)',
  'check.name.turnUdp': 'TURN over UDP',
  'check.name.turnTcp': 'TURN over TCP',
  'check.name.turnTls': 'TURN over TLS',
  'check.name.loopback': 'Media through TURN (loopback test)',
  'check.name.relay': 'Server relay (WebSocket)',
  'check.signalling.ok': 'Connected to the server over {transport}.',
  'check.signalling.fail':
    'Could not reach the server. Check your internet connection; admins: check that the server is up.',
  'check.room.fail':
    'The server did not hand out TURN credentials ({detail}). TURN checks were skipped.',
  'check.host.ok':
    'Found {count} local address(es); direct connections on the same network can work.',
  'check.host.fail':
    'The browser offered no local addresses; WebRTC may be disabled by a policy or an extension.',
  'check.stun.ok':
    'Your public address is visible via {url}; direct connections through NAT can work.',
  'check.stun.warn':
    'No public address from {url}: the STUN server is unreachable, or this machine is not behind NAT. Direct connections across networks may fail; TURN or the relay will be used.',
  'check.stun.none': 'No STUN server is configured. Admins: set STUN_URLS.',
  'check.turn.ok':
    'TURN at {url} gave a relay address; it works even when direct paths are blocked.',
  'check.turn.fail':
    'No relay address from {url} within {seconds} s. This network may block that port or protocol; admins: check that coturn listens there and that the firewall allows it.',
  'check.turn.none':
    'No TURN server for this transport is configured. Admins: add it to TURN_URLS to help viewers behind strict firewalls.',
  'check.loopback.ok': 'A test message went through TURN and back in {ms} ms.',
  'check.loopback.fail':
    'No media could pass through TURN within {seconds} s. Admins: check the TURN relay port range in the firewall and the denied-peer-ip rules.',
  'check.loopback.skip': 'Skipped: no working TURN server.',
  'check.loopback.notConfigured': 'Skipped: no TURN server is configured.',
  'check.relay.ok':
    'The server relay is reachable over {transport}; if every WebRTC path fails, video still arrives this way.',
  'check.relay.disabled':
    'The server relay is switched off on this server ({reason}): if every WebRTC path fails, no video arrives. Admins: set RELAY_ENABLED=true.',
  'check.relay.unknown':
    'The server status (/healthz) could not be read, so it is unknown whether the server relay is switched on.',
  'check.relay.fail': 'The server relay is not reachable, because the server connection failed.',
  'check.summary.good': 'You are all set: viewers and broadcasters on this network will get video.',
  'check.summary.turnOnly':
    'Direct connections may not work here, but TURN does: video will flow automatically.',
  'check.summary.relayOnly':
    'WebRTC is blocked on this network; video will come through the slower server relay. Ask your network admin to allow UDP or TCP to the TURN server.',
  'check.summary.directOnly':
    'Direct connections can work, but TURN does not: viewers behind strict firewalls will fall back to the server relay. Admins: check TURN_URLS, TURN_SECRET and the firewall.',
  'check.summary.lanOnly':
    'Direct video can work with devices on the same network. Nothing beyond it could be tested because no STUN or TURN server is configured; viewers elsewhere fall back to the server relay. Admins: set STUN_URLS and TURN_URLS.',
  'check.summary.bad': 'Video cannot reach this browser. Check your connection and try again.',
  'egress.title': 'Share beyond the room',
  'egress.loading': 'Checking what this server can do…',
  'egress.unavailable': 'HLS mirror and restream are unavailable: {reason}',
  'egress.noFfmpeg': 'ffmpeg is not installed on the server',
  'egress.forcedOn': 'The server keeps the HLS mirror on for every broadcast.',
  'egress.forcedOff': 'The server has switched the HLS mirror off.',
  'egress.hlsToggle': 'Public HLS mirror',
  'egress.hlsHint':
    'Anyone with the link can watch in any player, a few seconds behind. Turns on the server relay upstream.',
  'egress.hlsLink': 'Mirror link',
  'egress.state': 'State: {state}',
  'egress.state.off': 'off',
  'egress.state.starting': 'starting',
  'egress.state.live': 'live',
  'egress.state.restarting': 'restarting',
  'egress.state.retrying': 'retrying',
  'egress.state.ended': 'ended',
  'egress.state.unavailable': 'unavailable',
  'egress.restream': 'Restream',
  'egress.restreamTarget': 'Target',
  'egress.restreamNone': 'No restream targets are configured on this server.',
  'egress.restreamStart': 'Start restream',
  'egress.restreamStop': 'Stop restream',
  'egress.retryingIn': 'retrying in {seconds} s',
  'egress.lastError': 'Last error: {detail}',
  'egress.restarts': '{count} restarts',
  'egress.recording': 'Recording',
  'egress.recordingHint': 'This server records every broadcast.',
  'egress.transcoding':
    'The server is re-encoding your video (your browser is not sending H.264); this costs server CPU.',
  'egress.refused': 'The server refused: {detail}',

  'live.title': 'Room {room} · HLS mirror',
  'live.invalid': 'Not a room number',
  'live.invalidBody': '"{room}" is not a 6-digit room number.',
  'live.loading': 'Loading the mirror…',
  'live.waiting':
    'Waiting for the mirror: the broadcast has not started yet, or its HLS mirror is off. Retrying…',
  'live.playing': 'Playing the HLS mirror',
  'live.ended': 'The broadcast has ended',
  'live.error': 'The mirror cannot play: {detail}',
  'live.reload': 'Try again',
  'live.latency': 'Latency',
  'live.latencyValue': '{seconds} s behind live',
  'live.lowLatency': 'Watch with low latency (WebRTC)',
  'live.about':
    'This is the public HLS mirror: it plays in any browser or player, a few seconds behind live.',

  'watch.switchToHls': 'Switch to HLS',
  'watch.switchToHlsHint': 'Plays anywhere, a few seconds behind live.',
  'watch.backToLowLatency': 'Back to low latency',
  'watch.hlsWaiting': 'Waiting for the HLS mirror…',
  'home.hls': 'HLS',
  'home.hlsLink': 'Open the HLS mirror of room {room}',
} as const;

export type MessageKey = keyof typeof en;
export type Messages = Record<MessageKey, string>;
