import * as fs from 'node:fs';

/** statfs magic numbers of the file systems a backing file is likely to live on. */
const NAMES: Record<number, string> = {
  0x01021994: 'tmpfs',
  0x958458f6: 'hugetlbfs',
  0xef53: 'ext4',
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0x794c7630: 'overlayfs',
  0x6969: 'nfs',
  0x2fc12fc1: 'zfs',
  0x65735546: 'fuse',
  0x9fa0: 'proc',
};

export interface FileSystemInfo {
  name: string;
  /** For hugetlbfs, the huge page size; mappings and sizes are multiples of it. */
  blockSize: number;
}

export function fileSystemOf(path: string): FileSystemInfo {
  try {
    const st = fs.statfsSync(path);
    return { name: NAMES[st.type] ?? `0x${st.type.toString(16)}`, blockSize: st.bsize };
  } catch {
    return { name: 'unknown', blockSize: 4096 };
  }
}
