;; The hot loops of the grayscale DICOM path (preprocess.ts, grayFrameInto) for 16-bit frames and channel-first
;; layouts: window one source row at the resize taps and interpolate it horizontally; blend two such rows
;; vertically and write every channel normalised. The arithmetic is the JavaScript path's, in the same order and
;; precision (f64, with the windowed sample rounded to f32 as Math.fround does; no fused multiply-add), so
;; both give the same bits; the blend does two pixels at a time with f64x2.
;;
;; Built into gray-kernel.wasm.ts by `npm run build:wasm` (scripts/build-wasm.ts); a test checks the two agree.
;; All pointers are byte offsets into the exported memory, laid out by gray-kernel.ts.
(module
  (memory (export "memory") 1)

  ;; row[x] = p + (q - p) * fx[x] with p, q = clamp01(f32(sample(src, x0[x] or x1[x]) * a + b)), for x < w.
  ;; $signed: 1 reads int16 samples, 0 reads uint16.
  (func (export "fill") (param $src i32) (param $signed i32) (param $row i32) (param $w i32)
    (param $x0 i32) (param $x1 i32) (param $fx i32) (param $a f64) (param $b f64)
    (local $x i32) (local $p f64) (local $q f64) (local $s0 i32) (local $s1 i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $x) (local.get $w)))
        (local.set $s0 (i32.add (local.get $src)
          (i32.shl (i32.load (i32.add (local.get $x0) (i32.shl (local.get $x) (i32.const 2)))) (i32.const 1))))
        (local.set $s1 (i32.add (local.get $src)
          (i32.shl (i32.load (i32.add (local.get $x1) (i32.shl (local.get $x) (i32.const 2)))) (i32.const 1))))
        (if (local.get $signed)
          (then
            (local.set $p (f64.convert_i32_s (i32.load16_s (local.get $s0))))
            (local.set $q (f64.convert_i32_s (i32.load16_s (local.get $s1)))))
          (else
            (local.set $p (f64.convert_i32_u (i32.load16_u (local.get $s0))))
            (local.set $q (f64.convert_i32_u (i32.load16_u (local.get $s1))))))
        ;; Math.fround(v * a + b), then v < 0 ? 0 : v > 1 ? 1 : v (select, not min/max: -0 must stay -0)
        (local.set $p (f64.promote_f32 (f32.demote_f64
          (f64.add (f64.mul (local.get $p) (local.get $a)) (local.get $b)))))
        (local.set $p (select (f64.const 0) (local.get $p) (f64.lt (local.get $p) (f64.const 0))))
        (local.set $p (select (f64.const 1) (local.get $p) (f64.gt (local.get $p) (f64.const 1))))
        (local.set $q (f64.promote_f32 (f32.demote_f64
          (f64.add (f64.mul (local.get $q) (local.get $a)) (local.get $b)))))
        (local.set $q (select (f64.const 0) (local.get $q) (f64.lt (local.get $q) (f64.const 0))))
        (local.set $q (select (f64.const 1) (local.get $q) (f64.gt (local.get $q) (f64.const 1))))
        (f64.store (i32.add (local.get $row) (i32.shl (local.get $x) (i32.const 3)))
          (f64.add (local.get $p)
            (f64.mul (f64.sub (local.get $q) (local.get $p))
              (f64.load (i32.add (local.get $fx) (i32.shl (local.get $x) (i32.const 3)))))))
        (local.set $x (i32.add (local.get $x) (i32.const 1)))
        (br $next))))

  ;; For x < w: v = top[x] + (bottom[x] - top[x]) * wy; out_c[x] = f32(v * scale_c + shift_c) for the first
  ;; $channels (1 or 3) channels, channel c at $out + c * $plane bytes.
  (func (export "blend") (param $top i32) (param $bottom i32) (param $w i32) (param $wy f64)
    (param $out i32) (param $plane i32) (param $channels i32)
    (param $s0 f64) (param $h0 f64) (param $s1 f64) (param $h1 f64) (param $s2 f64) (param $h2 f64)
    (local $x i32) (local $t v128) (local $v v128) (local $o i32) (local $ts f64) (local $vs f64)
    (local $wy2 v128) (local $S0 v128) (local $H0 v128) (local $S1 v128) (local $H1 v128) (local $S2 v128)
    (local $H2 v128)
    (local.set $wy2 (f64x2.splat (local.get $wy)))
    (local.set $S0 (f64x2.splat (local.get $s0)))
    (local.set $H0 (f64x2.splat (local.get $h0)))
    (local.set $S1 (f64x2.splat (local.get $s1)))
    (local.set $H1 (f64x2.splat (local.get $h1)))
    (local.set $S2 (f64x2.splat (local.get $s2)))
    (local.set $H2 (f64x2.splat (local.get $h2)))
    ;; two pixels at a time
    (block $pairs_done
      (loop $pair
        (br_if $pairs_done (i32.gt_u (i32.add (local.get $x) (i32.const 2)) (local.get $w)))
        (local.set $t (v128.load (i32.add (local.get $top) (i32.shl (local.get $x) (i32.const 3)))))
        (local.set $v (f64x2.add (local.get $t)
          (f64x2.mul
            (f64x2.sub (v128.load (i32.add (local.get $bottom) (i32.shl (local.get $x) (i32.const 3))))
              (local.get $t))
            (local.get $wy2))))
        (local.set $o (i32.add (local.get $out) (i32.shl (local.get $x) (i32.const 2))))
        (v128.store64_lane 0 (local.get $o)
          (f32x4.demote_f64x2_zero (f64x2.add (f64x2.mul (local.get $v) (local.get $S0)) (local.get $H0))))
        (if (i32.eq (local.get $channels) (i32.const 3))
          (then
            (v128.store64_lane 0 (i32.add (local.get $o) (local.get $plane))
              (f32x4.demote_f64x2_zero (f64x2.add (f64x2.mul (local.get $v) (local.get $S1)) (local.get $H1))))
            (v128.store64_lane 0 (i32.add (local.get $o) (i32.shl (local.get $plane) (i32.const 1)))
              (f32x4.demote_f64x2_zero (f64x2.add (f64x2.mul (local.get $v) (local.get $S2)) (local.get $H2))))))
        (local.set $x (i32.add (local.get $x) (i32.const 2)))
        (br $pair)))
    ;; an odd last pixel
    (if (i32.lt_u (local.get $x) (local.get $w))
      (then
        (local.set $ts (f64.load (i32.add (local.get $top) (i32.shl (local.get $x) (i32.const 3)))))
        (local.set $vs (f64.add (local.get $ts)
          (f64.mul
            (f64.sub (f64.load (i32.add (local.get $bottom) (i32.shl (local.get $x) (i32.const 3))))
              (local.get $ts))
            (local.get $wy))))
        (local.set $o (i32.add (local.get $out) (i32.shl (local.get $x) (i32.const 2))))
        (f32.store (local.get $o)
          (f32.demote_f64 (f64.add (f64.mul (local.get $vs) (local.get $s0)) (local.get $h0))))
        (if (i32.eq (local.get $channels) (i32.const 3))
          (then
            (f32.store (i32.add (local.get $o) (local.get $plane))
              (f32.demote_f64 (f64.add (f64.mul (local.get $vs) (local.get $s1)) (local.get $h1))))
            (f32.store (i32.add (local.get $o) (i32.shl (local.get $plane) (i32.const 1)))
              (f32.demote_f64 (f64.add (f64.mul (local.get $vs) (local.get $s2)) (local.get $h2)))))))))
)
