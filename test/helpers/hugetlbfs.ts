import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';

const NR_HUGEPAGES = '/proc/sys/vm/nr_hugepages';

/**
 * A fresh hugetlbfs mount with `pages` huge pages reserved, for root; undefined elsewhere (the
 * caller skips and says why). The cleanup unmounts without -l (a mapping left behind makes it fail)
 * and puts the machine's huge page reservation back to what it was: it is the machine's setting,
 * not the test's.
 */
export function hugetlbfsMount(pages = 4): { dir: string; cleanup: () => void } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  let original: string | undefined;
  const restore = (): void => {
    if (original !== undefined && fs.readFileSync(NR_HUGEPAGES, 'utf8').trim() !== original) fs.writeFileSync(NR_HUGEPAGES, original);
  };
  try {
    original = fs.readFileSync(NR_HUGEPAGES, 'utf8').trim();
    if (Number(original) < pages) fs.writeFileSync(NR_HUGEPAGES, String(pages));
    if (Number(fs.readFileSync(NR_HUGEPAGES, 'utf8')) < 2) {
      restore();
      return undefined;
    }
    const dir = fs.mkdtempSync('/tmp/shmem-inspect-huge-');
    execFileSync('mount', ['-t', 'hugetlbfs', 'none', dir], { stdio: 'ignore' });
    return {
      dir,
      cleanup: () => {
        for (const name of fs.readdirSync(dir)) fs.unlinkSync(`${dir}/${name}`);
        execFileSync('umount', [dir]);
        fs.rmdirSync(dir);
        restore();
      },
    };
  } catch {
    try {
      restore();
    } catch {
      // not writable after all: nothing was changed
    }
    return undefined;
  }
}

export const NO_HUGETLBFS = 'needs root with huge pages available to mount hugetlbfs';
