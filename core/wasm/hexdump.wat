;; Whole lines of an xxd dump (core/hexdump.ts), in WebAssembly: a dump is formatted here at several
;; hundred MB/s, where JavaScript's stores through a DataView did 60-70 MB/s on this machine.
;;
;; Memory, laid out by the caller: at 0 the table of the four hex digits of every 16-bit value (a
;; little-endian u32 of their ASCII codes, 256 KiB), at 262144 the character each byte shows as in
;; the ASCII column (256 bytes); the input and output anywhere after that.
;;
;; lines(src, count, offset, dst): `count` lines of 16 bytes from src, the first at dump offset
;; `offset` (every offset below 2^32: 8 digits), as 68-byte lines at dst:
;;   "oooooooo: hhhh hhhh hhhh hhhh hhhh hhhh hhhh hhhh  cccccccccccccccc\n"
(module
  (memory (export "memory") 1)

  (func (export "lines") (param $src i32) (param $count i32) (param $offset i32) (param $dst i32)
    (local $end i32) (local $g i32) (local $k i32)
    (local.set $end (i32.add (local.get $src) (i32.shl (local.get $count) (i32.const 4))))
    (block $done
      (loop $line
        (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
        (i32.store offset=0 (local.get $dst) (i32.load (i32.shl (i32.shr_u (local.get $offset) (i32.const 16)) (i32.const 2))))
        (i32.store offset=4 (local.get $dst) (i32.load (i32.shl (i32.and (local.get $offset) (i32.const 0xffff)) (i32.const 2))))
        (i32.store16 offset=8 (local.get $dst) (i32.const 0x203a))
        ;; 8 groups of two bytes (big-endian: the first byte's digits first), each followed by a space.
        (local.set $g (i32.const 0))
        (loop $group
          (i32.store offset=10
            (i32.add (local.get $dst) (i32.mul (local.get $g) (i32.const 5)))
            (i32.load (i32.shl
              (i32.or
                (i32.shl (i32.load8_u (i32.add (local.get $src) (i32.shl (local.get $g) (i32.const 1)))) (i32.const 8))
                (i32.load8_u offset=1 (i32.add (local.get $src) (i32.shl (local.get $g) (i32.const 1)))))
              (i32.const 2))))
          (i32.store8 offset=14 (i32.add (local.get $dst) (i32.mul (local.get $g) (i32.const 5))) (i32.const 0x20))
          (local.set $g (i32.add (local.get $g) (i32.const 1)))
          (br_if $group (i32.lt_u (local.get $g) (i32.const 8))))
        (i32.store8 offset=50 (local.get $dst) (i32.const 0x20))
        (local.set $k (i32.const 0))
        (loop $char
          (i32.store8 offset=51 (i32.add (local.get $dst) (local.get $k))
            (i32.load8_u offset=262144 (i32.load8_u (i32.add (local.get $src) (local.get $k)))))
          (local.set $k (i32.add (local.get $k) (i32.const 1)))
          (br_if $char (i32.lt_u (local.get $k) (i32.const 16))))
        (i32.store8 offset=67 (local.get $dst) (i32.const 0x0a))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 68)))
        (local.set $offset (i32.add (local.get $offset) (i32.const 16)))
        (br $line))))
)
