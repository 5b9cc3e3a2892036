/** Boils a V8 `.cpuprofile` down to where the self time went, by package and by function. */
import type { ProfileEntry } from './report';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples?: number[];
}

/** "socket.io-parser", "node:internal", "server/", "(garbage collector)", … */
export function packageOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  if (url.startsWith('node:')) return url.startsWith('node:internal') ? 'node:internal' : url;
  const repo = /\/(server|shared|bench)\//.exec(url);
  return repo ? `${repo[1]}/` : url;
}

function top(totals: Map<string, number>, all: number, count: number): ProfileEntry[] {
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, hits]) => ({ name, selfPct: (hits / all) * 100 }));
}

export interface ProfileSummary {
  /** Share of samples in which the thread was doing something (not `(idle)`). */
  busyPct: number;
  /** Percentages below are of the busy samples. */
  byPackage: ProfileEntry[];
  byFunction: ProfileEntry[];
}

export function summarizeProfile(profile: CpuProfile, count = 8): ProfileSummary {
  const hitsByNode = new Map<number, number>();
  if (profile.samples && profile.samples.length > 0) {
    for (const id of profile.samples) hitsByNode.set(id, (hitsByNode.get(id) ?? 0) + 1);
  } else {
    for (const node of profile.nodes) hitsByNode.set(node.id, node.hitCount ?? 0);
  }
  const byPackage = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let all = 0;
  let idle = 0;
  for (const node of profile.nodes) {
    const hits = hitsByNode.get(node.id) ?? 0;
    if (hits === 0) continue;
    const { functionName, url } = node.callFrame;
    if (functionName === '(idle)') {
      idle += hits;
      continue;
    }
    const pkg = packageOf(url, functionName);
    const name = `${functionName || '(anonymous)'} [${pkg}]`;
    all += hits;
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + hits);
    byFunction.set(name, (byFunction.get(name) ?? 0) + hits);
  }
  if (all === 0) return { busyPct: 0, byPackage: [], byFunction: [] };
  return {
    busyPct: (all / (all + idle)) * 100,
    byPackage: top(byPackage, all, count),
    byFunction: top(byFunction, all, count),
  };
}
