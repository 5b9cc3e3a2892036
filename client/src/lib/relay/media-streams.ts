/**
 * Feature-detected access to Chromium's insertable streams (MediaStreamTrackProcessor and
 * MediaStreamTrackGenerator), which TypeScript's DOM lib doesn't declare yet.
 */
export interface TrackProcessor<T> {
  readonly readable: ReadableStream<T>;
}
type TrackProcessorCtor = new (init: {
  track: MediaStreamTrack;
  maxBufferSize?: number;
}) => TrackProcessor<VideoFrame | AudioData>;

export interface TrackGenerator<T> extends MediaStreamTrack {
  readonly writable: WritableStream<T>;
}
type TrackGeneratorCtor = new (init: {
  kind: 'video' | 'audio';
}) => TrackGenerator<VideoFrame | AudioData>;

interface InsertableStreamsGlobals {
  MediaStreamTrackProcessor?: TrackProcessorCtor;
  MediaStreamTrackGenerator?: TrackGeneratorCtor;
}

export function hasTrackProcessor(): boolean {
  return typeof (globalThis as InsertableStreamsGlobals).MediaStreamTrackProcessor === 'function';
}

export function hasTrackGenerator(): boolean {
  return typeof (globalThis as InsertableStreamsGlobals).MediaStreamTrackGenerator === 'function';
}

/** A reader of the track's raw frames; the browser drops old ones beyond `maxBufferSize`. */
export function createTrackProcessor<T extends VideoFrame | AudioData>(
  track: MediaStreamTrack,
  maxBufferSize: number,
): TrackProcessor<T> {
  const Ctor = (globalThis as InsertableStreamsGlobals).MediaStreamTrackProcessor;
  if (!Ctor) throw new Error('MediaStreamTrackProcessor is not available');
  return new Ctor({ track, maxBufferSize }) as unknown as TrackProcessor<T>;
}

export function createTrackGenerator<T extends VideoFrame | AudioData>(
  kind: 'video' | 'audio',
): TrackGenerator<T> {
  const Ctor = (globalThis as InsertableStreamsGlobals).MediaStreamTrackGenerator;
  if (!Ctor) throw new Error('MediaStreamTrackGenerator is not available');
  return new Ctor({ kind }) as unknown as TrackGenerator<T>;
}
