import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

/** Where the tests put the ivshmem BARs in the guest's physical address space (inside the PCI hole). */
export const BAR0 = 0xfebf0000;
export const BAR2 = 0xe0000000;
/** PCI slot of the ivshmem device (-device ...,addr=4). */
const SLOT = 4;

/**
 * A paused QEMU answering qtest commands on stdin/stdout: a guest without an OS that reads and
 * writes its physical memory, and so its ivshmem BARs, on command (see FACTS.md).
 */
export class QtestMachine {
  private buffered = '';
  private readonly waiting: ((line: string) => void)[] = [];
  private stderr = '';
  readonly exited: Promise<number | null>;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      this.buffered += d;
      let nl: number;
      while ((nl = this.buffered.indexOf('\n')) >= 0) {
        const line = this.buffered.slice(0, nl);
        this.buffered = this.buffered.slice(nl + 1);
        this.waiting.shift()?.(line);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  /** Starts QEMU with ivshmem-plain on a backing file and maps BAR0 and BAR2. */
  static withBackingFile(file: string, size: number): Promise<QtestMachine> {
    return QtestMachine.start([
      '-object', `memory-backend-file,id=mb,share=on,mem-path=${file},size=${size}`,
      '-device', `ivshmem-plain,memdev=mb,addr=${SLOT}`,
    ]);
  }

  /** Starts QEMU with ivshmem-doorbell joined to an ivshmem server, and maps its BARs. */
  static withServer(socketPath: string, vectors: number): Promise<QtestMachine> {
    return QtestMachine.start([
      '-chardev', `socket,path=${socketPath},id=ivs`,
      '-device', `ivshmem-doorbell,chardev=ivs,vectors=${vectors},addr=${SLOT}`,
    ]);
  }

  private static async start(deviceArgs: string[]): Promise<QtestMachine> {
    const child = spawn('qemu-system-x86_64', [
      '-machine', 'pc', '-accel', 'tcg', '-S', '-nodefaults', '-display', 'none', '-m', '64M',
      '-qtest', 'stdio', '-qtest-log', '/dev/null',
      ...deviceArgs,
    ]);
    const machine = new QtestMachine(child);
    try {
      await machine.programBars();
    } catch (err) {
      await machine.quit();
      throw err;
    }
    return machine;
  }

  /** Sends one qtest command and returns what follows "OK" in its answer. */
  cmd(line: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`qtest: no answer to "${line}"; QEMU said: ${this.stderr}`)), 10_000);
      this.waiting.push((answer) => {
        clearTimeout(timer);
        if (answer.startsWith('OK')) resolve(answer.slice(2).trim());
        else reject(new Error(`qtest: "${line}" answered "${answer}"; QEMU said: ${this.stderr}`));
      });
      this.child.stdin.write(`${line}\n`);
    });
  }

  private async configWrite(reg: number, value: number): Promise<void> {
    await this.cmd(`outl 0xcf8 0x${((0x80000000 | (SLOT << 11) | reg) >>> 0).toString(16)}`);
    await this.cmd(`outl 0xcfc 0x${value.toString(16)}`);
  }

  private async configRead(reg: number): Promise<number> {
    await this.cmd(`outl 0xcf8 0x${((0x80000000 | (SLOT << 11) | reg) >>> 0).toString(16)}`);
    return Number(await this.cmd('inl 0xcfc'));
  }

  private async programBars(): Promise<void> {
    const id = await this.configRead(0x00);
    if (id !== 0x11101af4) throw new Error(`no ivshmem device at slot ${SLOT} (vendor/device 0x${id.toString(16)})`);
    await this.configWrite(0x10, BAR0);
    await this.configWrite(0x18, BAR2);
    await this.configWrite(0x1c, 0);
    await this.configWrite(0x04, 0x2); // memory space enable
  }

  /** BAR0 registers: 0 IntrMask, 4 IntrStatus, 8 IVPosition, 12 Doorbell. */
  async readBar0(register: number): Promise<number> {
    return Number(BigInt(await this.cmd(`readl 0x${(BAR0 + register).toString(16)}`)));
  }
  writeBar0(register: number, value: number): Promise<string> {
    return this.cmd(`writel 0x${(BAR0 + register).toString(16)} 0x${(value >>> 0).toString(16)}`);
  }

  writeb(offset: number, value: number): Promise<string> {
    return this.cmd(`writeb 0x${(BAR2 + offset).toString(16)} 0x${value.toString(16)}`);
  }
  writel(offset: number, value: number): Promise<string> {
    return this.cmd(`writel 0x${(BAR2 + offset).toString(16)} 0x${value.toString(16)}`);
  }
  writeq(offset: number, value: bigint): Promise<string> {
    return this.cmd(`writeq 0x${(BAR2 + offset).toString(16)} 0x${value.toString(16)}`);
  }
  async readl(offset: number): Promise<number> {
    return Number(BigInt(await this.cmd(`readl 0x${(BAR2 + offset).toString(16)}`)));
  }

  async quit(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    this.child.kill('SIGTERM');
    await this.exited;
    clearTimeout(timer);
  }
}
