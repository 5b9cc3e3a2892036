import { QUALITY_PRESETS, type QualityPreset } from '../../../shared';
import { createLogger } from './logger';

const log = createLogger('capture');

export interface CameraOptions {
  quality: QualityPreset;
  cameraId?: string;
  microphoneId?: string;
  micEnabled: boolean;
}

function mediaDevices(): MediaDevices {
  if (typeof navigator === 'undefined' || !navigator.mediaDevices) {
    throw new DOMException(
      'Media devices need a secure context (https or localhost).',
      'NotSupportedError',
    );
  }
  return navigator.mediaDevices;
}

function videoConstraints(quality: QualityPreset): MediaTrackConstraints {
  const preset = QUALITY_PRESETS[quality];
  return {
    width: { ideal: preset.width },
    height: { ideal: preset.height },
    frameRate: { ideal: preset.fps },
  };
}

/** Cameras and microphones. Labels are empty until the page has had camera/mic permission. */
export async function listMediaDevices(): Promise<{
  cameras: MediaDeviceInfo[];
  microphones: MediaDeviceInfo[];
}> {
  if (typeof navigator === 'undefined' || !navigator.mediaDevices?.enumerateDevices) {
    return { cameras: [], microphones: [] };
  }
  const devices = await navigator.mediaDevices.enumerateDevices();
  return {
    cameras: devices.filter((d) => d.kind === 'videoinput'),
    microphones: devices.filter((d) => d.kind === 'audioinput'),
  };
}

export async function captureCamera(o: CameraOptions): Promise<MediaStream> {
  const video: MediaTrackConstraints = videoConstraints(o.quality);
  if (o.cameraId) video.deviceId = { exact: o.cameraId };
  let audio: MediaTrackConstraints | false = false;
  if (o.micEnabled) {
    audio = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
    if (o.microphoneId) audio.deviceId = { exact: o.microphoneId };
  }
  const stream = await mediaDevices().getUserMedia({ video, audio });
  const track = stream.getVideoTracks()[0];
  if (track) track.contentHint = 'motion';
  log.info('camera captured', track?.getSettings());
  return stream;
}

/** A screen, window or tab; with tab/system audio when asked and the browser offers it. */
export async function captureScreen(o: {
  quality: QualityPreset;
  withAudio: boolean;
}): Promise<MediaStream> {
  if (!isScreenCaptureSupported()) {
    throw new DOMException('Screen capture is not supported in this browser.', 'NotSupportedError');
  }
  // `systemAudio` is a Chromium extension not yet in lib.dom.
  const options = {
    video: videoConstraints(o.quality),
    audio: o.withAudio,
    systemAudio: 'include',
  } as DisplayMediaStreamOptions;
  const stream = await mediaDevices().getDisplayMedia(options);
  const track = stream.getVideoTracks()[0];
  if (track) track.contentHint = 'detail';
  log.info('screen captured', track?.getSettings());
  return stream;
}

/** Re-aims a live video track at a preset's size and frame rate (audio tracks are left alone). */
export async function applyQualityToTrack(
  track: MediaStreamTrack,
  quality: QualityPreset,
): Promise<void> {
  if (track.kind !== 'video') return;
  await track.applyConstraints(videoConstraints(quality));
}

export function stopStream(stream: MediaStream | null | undefined): void {
  if (!stream) return;
  for (const track of stream.getTracks()) track.stop();
}

/** False on most phones, where getDisplayMedia does not exist. */
export function isScreenCaptureSupported(): boolean {
  return (
    typeof navigator !== 'undefined' &&
    !!navigator.mediaDevices &&
    typeof navigator.mediaDevices.getDisplayMedia === 'function'
  );
}
