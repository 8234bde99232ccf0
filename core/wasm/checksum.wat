;; Page and block checksums of snapshot data (format version 2, docs/snapshot-format.md), in
;; WebAssembly: no native module, the same bytes in Node, Electron and any CPU. The caller reads
;; data straight into this module's memory (a Buffer over its ArrayBuffer, which V8 owns), so
;; nothing is copied to be hashed.
;;
;; - xxh64(ptr, len, seed): XXH64 as specified by its author (github.com/Cyan4973/xxHash,
;;   doc/xxhash_spec.md), checked against the reference's own results in test/unit/checksum.test.ts.
;; - pages(ptr, len, digests, zeros): the XXH64 (seed 0) of each 4096-byte page of [ptr, ptr+len)
;;   as u64 at digests + 8i, and zeros[i] = 1 for a page of zeros (0 otherwise). A page of zeros
;;   is recognised by a scan that stops at its first non-zero word, and gets the digest of zeros
;;   (global $zeroDigest, computed at start) without being hashed. A last partial page is hashed.
;; - blocks(digests, pages, perBlock, out): the checksum of each block: the low 32 bits of the
;;   XXH64 (seed 0) of its pages' digests (u64 little-endian, in order), as u32 at out + 4i.
(module
  (memory (export "memory") 1)
  ;; XXH64's primes appear as constants where they are used (P1 0x9E3779B185EBCA87, P2
  ;; 0xC2B2AE3D27D4EB4F, P3 0x165667B19E3779F9, P4 0x85EBCA77C2B2AE63, P5 0x27D4EB2F165667C5):
  ;; immutable globals cost a load each (measured: 4.0-5.7 GB/s with globals, 4.8-6.4 without).
  (global $zeroDigest (mut i64) (i64.const 0))

  (func $round (param $acc i64) (param $input i64) (result i64)
    (i64.mul
      (i64.rotl (i64.add (local.get $acc) (i64.mul (local.get $input) (i64.const 0xC2B2AE3D27D4EB4F))) (i64.const 31))
      (i64.const 0x9E3779B185EBCA87)))

  (func $merge (param $acc i64) (param $val i64) (result i64)
    (i64.add
      (i64.mul
        (i64.xor (local.get $acc) (call $round (i64.const 0) (local.get $val)))
        (i64.const 0x9E3779B185EBCA87))
      (i64.const 0x85EBCA77C2B2AE63)))

  (func $xxh64 (export "xxh64") (param $p i32) (param $len i32) (param $seed i64) (result i64)
    (local $end i32) (local $limit i32) (local $h i64)
    (local $v1 i64) (local $v2 i64) (local $v3 i64) (local $v4 i64)
    (local.set $end (i32.add (local.get $p) (local.get $len)))
    (if (i32.ge_u (local.get $len) (i32.const 32))
      (then
        (local.set $limit (i32.sub (local.get $end) (i32.const 32)))
        (local.set $v1 (i64.add (i64.add (local.get $seed) (i64.const 0x9E3779B185EBCA87)) (i64.const 0xC2B2AE3D27D4EB4F)))
        (local.set $v2 (i64.add (local.get $seed) (i64.const 0xC2B2AE3D27D4EB4F)))
        (local.set $v3 (local.get $seed))
        (local.set $v4 (i64.sub (local.get $seed) (i64.const 0x9E3779B185EBCA87)))
        (loop $stripes
          ;; $round written out: Node 20's V8 does not inline calls between wasm functions
          ;; (measured: 1.5 GB/s with the calls, 4-5.7 without).
          (local.set $v1 (i64.mul (i64.rotl (i64.add (local.get $v1) (i64.mul (i64.load offset=0 (local.get $p)) (i64.const 0xC2B2AE3D27D4EB4F))) (i64.const 31)) (i64.const 0x9E3779B185EBCA87)))
          (local.set $v2 (i64.mul (i64.rotl (i64.add (local.get $v2) (i64.mul (i64.load offset=8 (local.get $p)) (i64.const 0xC2B2AE3D27D4EB4F))) (i64.const 31)) (i64.const 0x9E3779B185EBCA87)))
          (local.set $v3 (i64.mul (i64.rotl (i64.add (local.get $v3) (i64.mul (i64.load offset=16 (local.get $p)) (i64.const 0xC2B2AE3D27D4EB4F))) (i64.const 31)) (i64.const 0x9E3779B185EBCA87)))
          (local.set $v4 (i64.mul (i64.rotl (i64.add (local.get $v4) (i64.mul (i64.load offset=24 (local.get $p)) (i64.const 0xC2B2AE3D27D4EB4F))) (i64.const 31)) (i64.const 0x9E3779B185EBCA87)))
          (local.set $p (i32.add (local.get $p) (i32.const 32)))
          (br_if $stripes (i32.le_u (local.get $p) (local.get $limit))))
        (local.set $h
          (i64.add
            (i64.add (i64.rotl (local.get $v1) (i64.const 1)) (i64.rotl (local.get $v2) (i64.const 7)))
            (i64.add (i64.rotl (local.get $v3) (i64.const 12)) (i64.rotl (local.get $v4) (i64.const 18)))))
        (local.set $h (call $merge (local.get $h) (local.get $v1)))
        (local.set $h (call $merge (local.get $h) (local.get $v2)))
        (local.set $h (call $merge (local.get $h) (local.get $v3)))
        (local.set $h (call $merge (local.get $h) (local.get $v4))))
      (else
        (local.set $h (i64.add (local.get $seed) (i64.const 0x27D4EB2F165667C5)))))
    (local.set $h (i64.add (local.get $h) (i64.extend_i32_u (local.get $len))))
    (block $done8
      (loop $eights
        (br_if $done8 (i32.gt_u (i32.add (local.get $p) (i32.const 8)) (local.get $end)))
        (local.set $h
          (i64.add
            (i64.mul
              (i64.rotl (i64.xor (local.get $h) (call $round (i64.const 0) (i64.load (local.get $p)))) (i64.const 27))
              (i64.const 0x9E3779B185EBCA87))
            (i64.const 0x85EBCA77C2B2AE63)))
        (local.set $p (i32.add (local.get $p) (i32.const 8)))
        (br $eights)))
    (if (i32.le_u (i32.add (local.get $p) (i32.const 4)) (local.get $end))
      (then
        (local.set $h
          (i64.add
            (i64.mul
              (i64.rotl
                (i64.xor (local.get $h) (i64.mul (i64.load32_u (local.get $p)) (i64.const 0x9E3779B185EBCA87)))
                (i64.const 23))
              (i64.const 0xC2B2AE3D27D4EB4F))
            (i64.const 0x165667B19E3779F9)))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))))
    (block $done1
      (loop $ones
        (br_if $done1 (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $h
          (i64.mul
            (i64.rotl
              (i64.xor (local.get $h) (i64.mul (i64.load8_u (local.get $p)) (i64.const 0x27D4EB2F165667C5)))
              (i64.const 11))
            (i64.const 0x9E3779B185EBCA87)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $ones)))
    (local.set $h (i64.mul (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 33))) (i64.const 0xC2B2AE3D27D4EB4F)))
    (local.set $h (i64.mul (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 29))) (i64.const 0x165667B19E3779F9)))
    (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 32))))

  ;; Whether the 4096 bytes at p are all zero (p need not be aligned).
  (func $isZeroPage (param $p i32) (result i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $p) (i32.const 4096)))
    (loop $words
      (if (i32.eqz (v128.any_true (v128.or (v128.load offset=0 (local.get $p)) (v128.load offset=16 (local.get $p)))))
        (then
          (local.set $p (i32.add (local.get $p) (i32.const 32)))
          (br_if $words (i32.lt_u (local.get $p) (local.get $end)))
          (return (i32.const 1)))))
    (i32.const 0))

  (func (export "pages") (param $p i32) (param $len i32) (param $digests i32) (param $zeros i32)
    (local $end i32) (local $n i32)
    (local.set $end (i32.add (local.get $p) (local.get $len)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $n (i32.sub (local.get $end) (local.get $p)))
        (if (i32.gt_u (local.get $n) (i32.const 4096)) (then (local.set $n (i32.const 4096))))
        (if (i32.and (i32.eq (local.get $n) (i32.const 4096)) (call $isZeroPage (local.get $p)))
          (then
            (i64.store (local.get $digests) (global.get $zeroDigest))
            (i32.store8 (local.get $zeros) (i32.const 1)))
          (else
            (i64.store (local.get $digests) (call $xxh64 (local.get $p) (local.get $n) (i64.const 0)))
            (i32.store8 (local.get $zeros) (i32.const 0))))
        (local.set $p (i32.add (local.get $p) (i32.const 4096)))
        (local.set $digests (i32.add (local.get $digests) (i32.const 8)))
        (local.set $zeros (i32.add (local.get $zeros) (i32.const 1)))
        (br $each))))

  (func (export "blocks") (param $digests i32) (param $pages i32) (param $perBlock i32) (param $out i32)
    (local $n i32)
    (block $done
      (loop $each
        (br_if $done (i32.le_s (local.get $pages) (i32.const 0)))
        (local.set $n (select (local.get $perBlock) (local.get $pages) (i32.gt_u (local.get $pages) (local.get $perBlock))))
        (i32.store (local.get $out) (i32.wrap_i64 (call $xxh64 (local.get $digests) (i32.shl (local.get $n) (i32.const 3)) (i64.const 0))))
        (local.set $digests (i32.add (local.get $digests) (i32.shl (local.get $n) (i32.const 3))))
        (local.set $pages (i32.sub (local.get $pages) (local.get $n)))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (br $each))))

  ;; The digest of a page of zeros, kept for pages(): hashed once, from zeroed memory at $scratch.
  (func (export "init") (param $scratch i32)
    (memory.fill (local.get $scratch) (i32.const 0) (i32.const 4096))
    (global.set $zeroDigest (call $xxh64 (local.get $scratch) (i32.const 4096) (i64.const 0))))
)
