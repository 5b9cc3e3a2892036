import { describe, expect, it } from 'vitest';
import { BroadcastMesh } from '../../client/src/lib/broadcast-mesh';

/** Just enough of an RTCPeerConnection for addViewer/removeViewer: it records its config. */
class ConfigRecordingPc {
  closed = false;
  constructor(readonly config: RTCConfiguration) {}
  addTransceiver() {
    return { sender: { track: null }, direction: 'sendonly' };
  }
  close() {
    this.closed = true;
  }
}

describe('BroadcastMesh ICE servers per viewer', () => {
  const created = [{ urls: ['turn:t:3478'], username: '1000:b', credential: 'old' }];

  function makeMesh() {
    const pcs: ConfigRecordingPc[] = [];
    const mesh = new BroadcastMesh({
      signalling: { sendSignal: () => {} },
      iceServers: created,
      codecOrder: ['VP8'],
      quality: '480p30',
      contentKind: 'camera',
      createPeerConnection: (config) => {
        const pc = new ConfigRecordingPc(config);
        pcs.push(pc);
        return pc as unknown as RTCPeerConnection;
      },
    });
    return { mesh, pcs };
  }

  it("uses the viewer's fresh list, which then becomes the default for later viewers", () => {
    const { mesh, pcs } = makeMesh();
    mesh.addViewer('w1');
    expect(pcs[0]!.config.iceServers).toEqual(created);
    const fresh = [{ urls: ['turn:t:3478'], username: '9000:b', credential: 'new' }];
    mesh.addViewer('w2', fresh);
    expect(pcs[1]!.config.iceServers).toEqual(fresh);
    mesh.addViewer('w3');
    expect(pcs[2]!.config.iceServers).toEqual(fresh);
    // A rebuilt peer (offer_requested) replaces the old connection and uses its new list.
    const fresher = [{ urls: ['turn:t:3478'], username: '9500:b', credential: 'newer' }];
    mesh.addViewer('w1', fresher);
    expect(pcs[0]!.closed).toBe(true);
    expect(pcs[3]!.config.iceServers).toEqual(fresher);
    mesh.close();
  });
});
