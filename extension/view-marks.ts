import * as vscode from 'vscode';
import type { Range } from '../core/numbers';
import { HeatCounter, type Heat } from '../core/watch/heat';

/** Where a recording's timeline stands: the state's time and sample, and the runs that step changed. */
export interface ReplayStep {
  timeMs: number;
  sample: number;
  changed: Range[];
}

/** A live session's heat is sent to its views at most this often. */
const HEAT_EVERY_MS = 500;

/**
 * What a session's views draw over its bytes besides the bytes themselves: a recording's step
 * (the bytes it changed stay marked), the heat strip (how often each slice changed: counted from
 * the session's change ticks when live, the whole recording's when replayed), and the hex view's
 * selection (a timeline steps through the changes of it). Views observe; the session and the
 * timeline set.
 */
export class ViewMarks implements vscode.Disposable {
  private counter: HeatCounter | undefined;
  private heatNow: Heat | undefined;
  private stepNow: ReplayStep | undefined;
  private selectionNow: Range | undefined;
  private heatTimer: NodeJS.Timeout | undefined;
  private readonly heatEmitter = new vscode.EventEmitter<Heat>();
  private readonly stepEmitter = new vscode.EventEmitter<ReplayStep | undefined>();
  private readonly selectionEmitter = new vscode.EventEmitter<Range | undefined>();
  readonly onDidChangeHeat = this.heatEmitter.event;
  readonly onDidChangeStep = this.stepEmitter.event;
  readonly onDidChangeSelection = this.selectionEmitter.event;

  /** `size`: the segment's; `live`: count heat from change ticks (a recording brings its own). */
  constructor(size: number, live: boolean) {
    this.counter = live ? new HeatCounter(size) : undefined;
  }

  get heat(): Heat | undefined {
    return this.counter ? this.counter.heat : this.heatNow;
  }

  get step(): ReplayStep | undefined {
    return this.stepNow;
  }

  get selection(): Range | undefined {
    return this.selectionNow;
  }

  /** A live session's change tick (its runs, absolute offsets). */
  countTick(runs: readonly Range[]): void {
    if (!this.counter || runs.length === 0) return;
    this.counter.tick(runs);
    this.heatTimer ??= setTimeout(() => {
      this.heatTimer = undefined;
      if (this.counter) this.heatEmitter.fire(this.counter.heat);
    }, HEAT_EVERY_MS);
  }

  /** A recording's heat, counted over the whole recording. */
  setHeat(heat: Heat): void {
    this.counter = undefined;
    this.heatNow = heat;
    this.heatEmitter.fire(heat);
  }

  setStep(step: ReplayStep | undefined): void {
    this.stepNow = step;
    this.stepEmitter.fire(step);
  }

  setSelection(range: Range | undefined): void {
    const old = this.selectionNow;
    if (old === range || (old && range && old.offset === range.offset && old.length === range.length)) return;
    this.selectionNow = range;
    this.selectionEmitter.fire(range);
  }

  dispose(): void {
    if (this.heatTimer) clearTimeout(this.heatTimer);
    this.heatEmitter.dispose();
    this.stepEmitter.dispose();
    this.selectionEmitter.dispose();
  }
}
