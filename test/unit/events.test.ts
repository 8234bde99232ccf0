import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Emitter, setListenerErrorSink } from '../../core/events';

test('a listener that throws does not stop the others, and the error reaches the sink, not the emitter', () => {
  const errors: unknown[] = [];
  const previous = setListenerErrorSink((err) => errors.push(err));
  try {
    const e = new Emitter<number>();
    const seen: string[] = [];
    e.on((v) => seen.push(`a${v}`));
    e.on(() => {
      throw new Error('boom');
    });
    e.on((v) => seen.push(`c${v}`));
    assert.doesNotThrow(() => e.emit(1));
    assert.deepEqual(seen, ['a1', 'c1']);
    assert.equal(errors.length, 1);
    assert.equal((errors[0] as Error).message, 'boom');
  } finally {
    setListenerErrorSink(previous);
  }
});

test('unsubscribe removes exactly its own subscription; once fires once; a listener added during emit waits for the next', () => {
  const e = new Emitter<string>();
  const seen: string[] = [];
  const f = (v: string): void => {
    seen.push(`f${v}`);
  };
  const off1 = e.on(f);
  e.on(f);
  e.once((v) => seen.push(`o${v}`));
  e.on((v) => {
    if (v === 'x') e.on((w) => seen.push(`late${w}`));
  });
  e.emit('x');
  off1();
  off1();
  e.emit('y');
  assert.deepEqual(seen, ['fx', 'fx', 'ox', 'fy', 'latey']);
});
