import { describe, expect, it } from 'vitest';
import {
  decodeRelayFrame,
  encodeRelayFrame,
  readRelayHeader,
  RELAY_HEADER_BYTES,
  RELAY_MAX_CONFIG_BYTES,
  RELAY_MAX_FRAME_BYTES,
  type RelayFrame,
} from '../../shared/index';

const frame: RelayFrame = {
  track: 'video',
  keyframe: true,
  seq: 0xfffffffe,
  timestampUs: 1_234_567_890.5,
  durationUs: 33_333,
  config: { codec: 'avc1.42e01f', codedWidth: 1280, codedHeight: 720, description: 'AAEC' },
  data: new Uint8Array([1, 2, 3, 4, 5]),
};

describe('relay frame codec', () => {
  it('round-trips a video keyframe with its decoder config', () => {
    const bytes = encodeRelayFrame(frame);
    const decoded = decodeRelayFrame(bytes);
    expect(decoded.ok && decoded.frame).toEqual(frame);
    const header = readRelayHeader(bytes);
    expect(header).toEqual({
      ok: true,
      header: {
        track: 'video',
        keyframe: true,
        hasConfig: true,
        seq: 0xfffffffe,
        timestampUs: 1_234_567_890.5,
        durationUs: 33_333,
        byteLength: bytes.byteLength,
      },
    });
  });

  it('round-trips an audio delta without config, from an offset view', () => {
    const audio: RelayFrame = {
      track: 'audio',
      keyframe: false,
      seq: 7,
      timestampUs: 20_000,
      durationUs: 20_000,
      data: new Uint8Array([9, 8, 7]),
    };
    const encoded = encodeRelayFrame(audio);
    // Received bytes are often a view into a bigger buffer.
    const padded = new Uint8Array(encoded.byteLength + 10);
    padded.set(encoded, 5);
    const view = padded.subarray(5, 5 + encoded.byteLength);
    expect(encoded.byteLength).toBe(RELAY_HEADER_BYTES + 3);
    const decoded = decodeRelayFrame(view);
    expect(decoded.ok && decoded.frame).toEqual(audio);
  });

  it('refuses short, oversized, wrong-version and inconsistent envelopes', () => {
    expect(readRelayHeader(new Uint8Array(RELAY_HEADER_BYTES - 1))).toEqual({
      ok: false,
      error: 'TOO_SHORT',
    });
    expect(readRelayHeader(new Uint8Array(RELAY_MAX_FRAME_BYTES + 1))).toMatchObject({
      error: 'TOO_LARGE',
    });
    const bytes = encodeRelayFrame({ ...frame, config: undefined });
    const badVersion = bytes.slice();
    badVersion[0] = 99;
    expect(readRelayHeader(badVersion)).toMatchObject({ error: 'BAD_VERSION' });
    const configFlagNoLength = bytes.slice();
    configFlagNoLength[1] = configFlagNoLength[1]! | 4;
    expect(readRelayHeader(configFlagNoLength)).toMatchObject({ error: 'BAD_CONFIG' });
    const lengthPastEnd = encodeRelayFrame(frame);
    new DataView(lengthPastEnd.buffer).setUint16(2, RELAY_MAX_CONFIG_BYTES, true);
    expect(readRelayHeader(lengthPastEnd)).toMatchObject({ error: 'TOO_SHORT' });
    const nanTime = bytes.slice();
    new DataView(nanTime.buffer).setFloat64(8, Number.NaN, true);
    expect(readRelayHeader(nanTime)).toMatchObject({ error: 'BAD_CONFIG' });
    const junkConfig = encodeRelayFrame(frame);
    junkConfig[RELAY_HEADER_BYTES] = 0x7b + 1; // not JSON any more
    expect(decodeRelayFrame(junkConfig)).toMatchObject({ ok: false, error: 'BAD_CONFIG' });
    expect(() =>
      encodeRelayFrame({ ...frame, config: { codec: 'x'.repeat(RELAY_MAX_CONFIG_BYTES) } }),
    ).toThrow(RangeError);
  });
});
