/** Machine description and BENCHMARKS.md section splicing shared by the harnesses. */
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  ramGiB: number;
  node: string;
  kernel: string;
}

export function machineInfo(): MachineInfo {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (match?.[1]) cpuModel = match[1].trim();
  } catch {
    // Not Linux: os.cpus() is good enough.
  }
  return {
    nproc: os.availableParallelism(),
    cpuModel,
    ramGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
  };
}

/** The markers around one benchmark's section of BENCHMARKS.md. */
export interface SectionMarkers {
  start: string;
  end: string;
}

/** Replaces one benchmark's section in BENCHMARKS.md, leaving everything else untouched. */
export function spliceSection(
  existing: string | null,
  section: string,
  markers: SectionMarkers,
): string {
  if (existing === null || existing.trim() === '') {
    return `# Benchmarks\n\nNumbers measured by the scripts in \`bench/\`. Each section is rewritten only by its own script.\n\n${section}\n`;
  }
  const start = existing.indexOf(markers.start);
  const end = existing.indexOf(markers.end);
  if (start >= 0 && end > start) {
    return existing.slice(0, start) + section + existing.slice(end + markers.end.length);
  }
  return `${existing.trimEnd()}\n\n${section}\n`;
}
