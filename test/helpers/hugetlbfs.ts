import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';

/**
 * A fresh hugetlbfs mount with `pages` huge pages reserved, for root; undefined elsewhere (the
 * caller skips and says why). The cleanup unmounts without -l: a mapping left behind makes it fail.
 */
export function hugetlbfsMount(pages = 4): { dir: string; cleanup: () => void } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const have = Number(fs.readFileSync('/proc/sys/vm/nr_hugepages', 'utf8'));
    if (have < pages) fs.writeFileSync('/proc/sys/vm/nr_hugepages', String(pages));
    if (Number(fs.readFileSync('/proc/sys/vm/nr_hugepages', 'utf8')) < 2) return undefined;
    const dir = fs.mkdtempSync('/tmp/shmem-inspect-huge-');
    execFileSync('mount', ['-t', 'hugetlbfs', 'none', dir], { stdio: 'ignore' });
    return {
      dir,
      cleanup: () => {
        for (const name of fs.readdirSync(dir)) fs.unlinkSync(`${dir}/${name}`);
        execFileSync('umount', [dir]);
        fs.rmdirSync(dir);
      },
    };
  } catch {
    return undefined;
  }
}

export const NO_HUGETLBFS = 'needs root with huge pages available to mount hugetlbfs';
