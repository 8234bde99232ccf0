/**
 * Whether this OS can be what the product inspects: shared memory between QEMU guests and host
 * processes (ivshmem, /dev/shm, hugetlbfs) is a Linux matter, and the packages carry Linux
 * binaries only. One sentence for the user, or undefined on Linux.
 */
export function platformProblem(platform: string = process.platform): string | undefined {
  if (platform === 'linux') return undefined;
  return `Shared Memory Inspector needs Linux (this is ${platform}): it inspects shared memory between QEMU guests and processes on a Linux host. Open a window on that host (Remote - SSH, WSL or a dev container) and use it there.`;
}
