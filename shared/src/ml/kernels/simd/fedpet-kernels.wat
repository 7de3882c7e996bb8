;; fedpet's WebAssembly SIMD kernels for the tfjs wasm backend (compiled at
;; load time by simd-kernels.ts). They run on the backend's own linear memory
;; (imported), so tensors are read and written in place. Pointers are byte
;; addresses; sizes and indices are in floats. Each function is the same
;; arithmetic as its JavaScript counterpart in ../patches.ts or
;; ../max-pool-grad.ts, which remain the fallback and the tests' reference.
(module
  (import "env" "memory" (memory 0))

  ;; Copies n floats from src to dst (byte addresses, not overlapping). memory.copy
  ;; pays off only for long runs; im2col's are mostly 3–48 floats.
  (func $copy (param $src i32) (param $dst i32) (param $n i32)
    (local $end i32)
    (if (i32.ge_u (local.get $n) (i32.const 64))
      (then
        (memory.copy (local.get $dst) (local.get $src) (i32.shl (local.get $n) (i32.const 2)))
        (return)))
    (local.set $end (i32.add (local.get $src) (i32.shl (local.get $n) (i32.const 2))))
    (block $done4
      (loop $four
        (br_if $done4 (i32.gt_u (i32.add (local.get $src) (i32.const 16)) (local.get $end)))
        (v128.store (local.get $dst) (v128.load (local.get $src)))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (br $four)))
    (block $done
      (loop $one
        (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
        (f32.store (local.get $dst) (f32.load (local.get $src)))
        (local.set $src (i32.add (local.get $src) (i32.const 4)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (br $one))))

  ;; Writes n zero floats at dst.
  (func $zero (param $dst i32) (param $n i32)
    (local $end i32)
    (if (i32.ge_u (local.get $n) (i32.const 16))
      (then
        (memory.fill (local.get $dst) (i32.const 0) (i32.shl (local.get $n) (i32.const 2)))
        (return)))
    (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $one
        (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
        (f32.store (local.get $dst) (f32.const 0))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (br $one))))

  ;; im2col rows (patches.ts gatherPatchRows): out [(l1 − l0)·outW, K] for output lines [l0, l1).
  (func (export "gatherPatchRows")
    (param $x i32) (param $out i32) (param $l0 i32) (param $l1 i32)
    (param $inD i32) (param $inH i32) (param $inW i32) (param $inC i32)
    (param $outD i32) (param $outH i32) (param $outW i32)
    (param $fD i32) (param $fH i32) (param $fW i32)
    (param $sD i32) (param $sH i32) (param $sW i32)
    (param $padF i32) (param $padT i32) (param $padL i32)
    (local $K i32) (local $tapRow i32) (local $line i32) (local $oh i32) (local $rest i32)
    (local $od i32) (local $n i32) (local $d0 i32) (local $h0 i32) (local $kd i32) (local $kh i32)
    (local $d i32) (local $h i32) (local $rowOffset i32) (local $kBase i32) (local $ow i32)
    (local $dst i32) (local $iw0 i32) (local $kw i32) (local $iw i32) (local $lineBase i32)
    (local $src i32) (local $to i32) (local $end i32)
    (local.set $tapRow (i32.mul (local.get $fW) (local.get $inC)))
    (local.set $K (i32.mul (i32.mul (local.get $fD) (local.get $fH)) (local.get $tapRow)))
    (local.set $line (local.get $l0))
    (block $linesDone
      (loop $lines
        (br_if $linesDone (i32.ge_s (local.get $line) (local.get $l1)))
        (local.set $oh (i32.rem_u (local.get $line) (local.get $outH)))
        (local.set $rest (i32.div_u (local.get $line) (local.get $outH)))
        (local.set $od (i32.rem_u (local.get $rest) (local.get $outD)))
        (local.set $n (i32.div_u (local.get $rest) (local.get $outD)))
        (local.set $d0 (i32.sub (i32.mul (local.get $od) (local.get $sD)) (local.get $padF)))
        (local.set $h0 (i32.sub (i32.mul (local.get $oh) (local.get $sH)) (local.get $padT)))
        (local.set $lineBase
          (i32.mul (i32.mul (i32.sub (local.get $line) (local.get $l0)) (local.get $outW)) (local.get $K)))
        (local.set $kd (i32.const 0))
        (loop $kds
          (local.set $kh (i32.const 0))
          (loop $khs
            (local.set $d (i32.add (local.get $d0) (local.get $kd)))
            (local.set $h (i32.add (local.get $h0) (local.get $kh)))
            ;; Offset of x[n, d, h, 0, 0] in floats, or −1 in the padding.
            (local.set $rowOffset (i32.const -1))
            (if (i32.and
                  (i32.and (i32.ge_s (local.get $d) (i32.const 0)) (i32.lt_s (local.get $d) (local.get $inD)))
                  (i32.and (i32.ge_s (local.get $h) (i32.const 0)) (i32.lt_s (local.get $h) (local.get $inH))))
              (then
                (local.set $rowOffset
                  (i32.mul
                    (i32.mul
                      (i32.add
                        (i32.mul (i32.add (i32.mul (local.get $n) (local.get $inD)) (local.get $d)) (local.get $inH))
                        (local.get $h))
                      (local.get $inW))
                    (local.get $inC)))))
            (local.set $kBase
              (i32.mul (i32.add (i32.mul (local.get $kd) (local.get $fH)) (local.get $kh)) (local.get $tapRow)))
            (local.set $ow (i32.const 0))
            (block $owsDone
              (loop $ows
                (br_if $owsDone (i32.ge_s (local.get $ow) (local.get $outW)))
                (local.set $dst
                  (i32.add (i32.add (local.get $lineBase) (i32.mul (local.get $ow) (local.get $K))) (local.get $kBase)))
                (local.set $iw0 (i32.sub (i32.mul (local.get $ow) (local.get $sW)) (local.get $padL)))
                (if (i32.lt_s (local.get $rowOffset) (i32.const 0))
                  (then
                    (call $zero (i32.add (local.get $out) (i32.shl (local.get $dst) (i32.const 2))) (local.get $tapRow)))
                  (else
                    (if (i32.and
                          (i32.ge_s (local.get $iw0) (i32.const 0))
                          (i32.le_s (i32.add (local.get $iw0) (local.get $fW)) (local.get $inW)))
                      (then
                        ;; The whole filter row lies inside the input: fW·inC contiguous floats,
                        ;; copied inline (a call per run cost ~40% here when runs are 3 floats).
                        (local.set $src
                          (i32.add (local.get $x)
                            (i32.shl
                              (i32.add (local.get $rowOffset) (i32.mul (local.get $iw0) (local.get $inC)))
                              (i32.const 2))))
                        (local.set $to (i32.add (local.get $out) (i32.shl (local.get $dst) (i32.const 2))))
                        (local.set $end (i32.add (local.get $src) (i32.shl (local.get $tapRow) (i32.const 2))))
                        (block $done4
                          (loop $four
                            (br_if $done4 (i32.gt_u (i32.add (local.get $src) (i32.const 16)) (local.get $end)))
                            (v128.store (local.get $to) (v128.load (local.get $src)))
                            (local.set $src (i32.add (local.get $src) (i32.const 16)))
                            (local.set $to (i32.add (local.get $to) (i32.const 16)))
                            (br $four)))
                        (block $done1
                          (loop $one
                            (br_if $done1 (i32.ge_u (local.get $src) (local.get $end)))
                            (f32.store (local.get $to) (f32.load (local.get $src)))
                            (local.set $src (i32.add (local.get $src) (i32.const 4)))
                            (local.set $to (i32.add (local.get $to) (i32.const 4)))
                            (br $one))))
                      (else
                        (local.set $kw (i32.const 0))
                        (block $kwsDone
                          (loop $kws
                            (br_if $kwsDone (i32.ge_s (local.get $kw) (local.get $fW)))
                            (local.set $iw (i32.add (local.get $iw0) (local.get $kw)))
                            (if (i32.or (i32.lt_s (local.get $iw) (i32.const 0)) (i32.ge_s (local.get $iw) (local.get $inW)))
                              (then
                                (call $zero
                                  (i32.add (local.get $out)
                                    (i32.shl
                                      (i32.add (local.get $dst) (i32.mul (local.get $kw) (local.get $inC)))
                                      (i32.const 2)))
                                  (local.get $inC)))
                              (else
                                (call $copy
                                  (i32.add (local.get $x)
                                    (i32.shl
                                      (i32.add (local.get $rowOffset) (i32.mul (local.get $iw) (local.get $inC)))
                                      (i32.const 2)))
                                  (i32.add (local.get $out)
                                    (i32.shl
                                      (i32.add (local.get $dst) (i32.mul (local.get $kw) (local.get $inC)))
                                      (i32.const 2)))
                                  (local.get $inC))))
                            (local.set $kw (i32.add (local.get $kw) (i32.const 1)))
                            (br $kws)))))))
                (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
                (br $ows)))
            (local.set $kh (i32.add (local.get $kh) (i32.const 1)))
            (br_if $khs (i32.lt_s (local.get $kh) (local.get $fH))))
          (local.set $kd (i32.add (local.get $kd) (i32.const 1)))
          (br_if $kds (i32.lt_s (local.get $kd) (local.get $fD))))
        (local.set $line (i32.add (local.get $line) (i32.const 1)))
        (br $lines))))

  ;; Transposed im2col for stride 1 along the width (patches.ts gatherPatchColumns):
  ;; out [K, (l1 − l0)·outW] from x in channel-major order [inC, positions].
  (func (export "gatherPatchColumns")
    (param $xByChannel i32) (param $out i32) (param $l0 i32) (param $l1 i32) (param $positions i32)
    (param $inD i32) (param $inH i32) (param $inW i32) (param $inC i32)
    (param $outD i32) (param $outH i32) (param $outW i32)
    (param $fD i32) (param $fH i32) (param $fW i32)
    (param $sD i32) (param $sH i32)
    (param $padF i32) (param $padT i32) (param $padL i32)
    (local $rows i32) (local $line i32) (local $oh i32) (local $rest i32) (local $od i32) (local $n i32)
    (local $d0 i32) (local $h0 i32) (local $mBase i32) (local $kd i32) (local $kh i32) (local $kw i32)
    (local $d i32) (local $h i32) (local $rowPosition i32) (local $kBase i32) (local $lo i32) (local $hi i32)
    (local $shift i32) (local $c i32) (local $dst i32) (local $src i32)
    (local.set $rows (i32.mul (i32.sub (local.get $l1) (local.get $l0)) (local.get $outW)))
    (local.set $line (local.get $l0))
    (block $linesDone
      (loop $lines
        (br_if $linesDone (i32.ge_s (local.get $line) (local.get $l1)))
        (local.set $oh (i32.rem_u (local.get $line) (local.get $outH)))
        (local.set $rest (i32.div_u (local.get $line) (local.get $outH)))
        (local.set $od (i32.rem_u (local.get $rest) (local.get $outD)))
        (local.set $n (i32.div_u (local.get $rest) (local.get $outD)))
        (local.set $d0 (i32.sub (i32.mul (local.get $od) (local.get $sD)) (local.get $padF)))
        (local.set $h0 (i32.sub (i32.mul (local.get $oh) (local.get $sH)) (local.get $padT)))
        (local.set $mBase (i32.mul (i32.sub (local.get $line) (local.get $l0)) (local.get $outW)))
        (local.set $kd (i32.const 0))
        (loop $kds
          (local.set $kh (i32.const 0))
          (loop $khs
            (local.set $d (i32.add (local.get $d0) (local.get $kd)))
            (local.set $h (i32.add (local.get $h0) (local.get $kh)))
            ;; Position of x[n, d, h, 0], or −1 in the padding.
            (local.set $rowPosition (i32.const -1))
            (if (i32.and
                  (i32.and (i32.ge_s (local.get $d) (i32.const 0)) (i32.lt_s (local.get $d) (local.get $inD)))
                  (i32.and (i32.ge_s (local.get $h) (i32.const 0)) (i32.lt_s (local.get $h) (local.get $inH))))
              (then
                (local.set $rowPosition
                  (i32.mul
                    (i32.add
                      (i32.mul (i32.add (i32.mul (local.get $n) (local.get $inD)) (local.get $d)) (local.get $inH))
                      (local.get $h))
                    (local.get $inW)))))
            (local.set $kw (i32.const 0))
            (loop $kws
              (local.set $kBase
                (i32.mul
                  (i32.add
                    (i32.mul (i32.add (i32.mul (local.get $kd) (local.get $fH)) (local.get $kh)) (local.get $fW))
                    (local.get $kw))
                  (local.get $inC)))
              ;; Output columns ow whose input column ow + kw − padL lies in [0, inW): [lo, hi).
              (local.set $shift (i32.sub (local.get $kw) (local.get $padL)))
              (local.set $lo (i32.sub (i32.const 0) (local.get $shift)))
              (if (i32.lt_s (local.get $lo) (i32.const 0)) (then (local.set $lo (i32.const 0))))
              (if (i32.gt_s (local.get $lo) (local.get $outW)) (then (local.set $lo (local.get $outW))))
              (local.set $hi (i32.sub (local.get $inW) (local.get $shift)))
              (if (i32.gt_s (local.get $hi) (local.get $outW)) (then (local.set $hi (local.get $outW))))
              (if (i32.lt_s (local.get $hi) (local.get $lo)) (then (local.set $hi (local.get $lo))))
              (if (i32.lt_s (local.get $rowPosition) (i32.const 0))
                (then (local.set $lo (local.get $outW)) (local.set $hi (local.get $outW))))
              (local.set $c (i32.const 0))
              (block $csDone
                (loop $cs
                  (br_if $csDone (i32.ge_s (local.get $c) (local.get $inC)))
                  (local.set $dst
                    (i32.add (i32.mul (i32.add (local.get $kBase) (local.get $c)) (local.get $rows)) (local.get $mBase)))
                  (call $zero (i32.add (local.get $out) (i32.shl (local.get $dst) (i32.const 2))) (local.get $lo))
                  (call $zero
                    (i32.add (local.get $out) (i32.shl (i32.add (local.get $dst) (local.get $hi)) (i32.const 2)))
                    (i32.sub (local.get $outW) (local.get $hi)))
                  (if (i32.gt_s (local.get $hi) (local.get $lo))
                    (then
                      (local.set $src
                        (i32.add
                          (i32.add (i32.mul (local.get $c) (local.get $positions)) (local.get $rowPosition))
                          (i32.add (local.get $lo) (local.get $shift))))
                      (call $copy
                        (i32.add (local.get $xByChannel) (i32.shl (local.get $src) (i32.const 2)))
                        (i32.add (local.get $out) (i32.shl (i32.add (local.get $dst) (local.get $lo)) (i32.const 2)))
                        (i32.sub (local.get $hi) (local.get $lo)))))
                  (local.set $c (i32.add (local.get $c) (i32.const 1)))
                  (br $cs)))
              (local.set $kw (i32.add (local.get $kw) (i32.const 1)))
              (br_if $kws (i32.lt_s (local.get $kw) (local.get $fW))))
            (local.set $kh (i32.add (local.get $kh) (i32.const 1)))
            (br_if $khs (i32.lt_s (local.get $kh) (local.get $fH))))
          (local.set $kd (i32.add (local.get $kd) (i32.const 1)))
          (br_if $kds (i32.lt_s (local.get $kd) (local.get $fD))))
        (local.set $line (i32.add (local.get $line) (i32.const 1)))
        (br $lines))))

  ;; Max pooling forward (max-pool-grad.ts maxPoolForward): NaN ignored, −∞ for an empty window.
  (func (export "maxPoolForward")
    (param $x i32) (param $y i32) (param $batch i32) (param $C i32)
    (param $inD i32) (param $inH i32) (param $inW i32)
    (param $outD i32) (param $outH i32) (param $outW i32)
    (param $fD i32) (param $fH i32) (param $fW i32)
    (param $sD i32) (param $sH i32) (param $sW i32)
    (param $padF i32) (param $padT i32) (param $padL i32)
    (local $n i32) (local $od i32) (local $oh i32) (local $ow i32) (local $o i32)
    (local $dLo i32) (local $dHi i32) (local $hLo i32) (local $hHi i32) (local $wLo i32) (local $wHi i32)
    (local $d i32) (local $h i32) (local $w i32) (local $c i32) (local $base i32)
    (local $m v128) (local $s f32) (local $v f32)
    (local.set $n (i32.const 0))
    (block $nDone (loop $ns
      (br_if $nDone (i32.ge_s (local.get $n) (local.get $batch)))
      (local.set $od (i32.const 0))
      (block $odDone (loop $ods
        (br_if $odDone (i32.ge_s (local.get $od) (local.get $outD)))
        (local.set $dLo (i32.sub (i32.mul (local.get $od) (local.get $sD)) (local.get $padF)))
        (local.set $dHi (i32.add (local.get $dLo) (local.get $fD)))
        (if (i32.lt_s (local.get $dLo) (i32.const 0)) (then (local.set $dLo (i32.const 0))))
        (if (i32.gt_s (local.get $dHi) (local.get $inD)) (then (local.set $dHi (local.get $inD))))
        (local.set $oh (i32.const 0))
        (block $ohDone (loop $ohs
          (br_if $ohDone (i32.ge_s (local.get $oh) (local.get $outH)))
          (local.set $hLo (i32.sub (i32.mul (local.get $oh) (local.get $sH)) (local.get $padT)))
          (local.set $hHi (i32.add (local.get $hLo) (local.get $fH)))
          (if (i32.lt_s (local.get $hLo) (i32.const 0)) (then (local.set $hLo (i32.const 0))))
          (if (i32.gt_s (local.get $hHi) (local.get $inH)) (then (local.set $hHi (local.get $inH))))
          (local.set $ow (i32.const 0))
          (block $owDone (loop $ows
            (br_if $owDone (i32.ge_s (local.get $ow) (local.get $outW)))
            (local.set $wLo (i32.sub (i32.mul (local.get $ow) (local.get $sW)) (local.get $padL)))
            (local.set $wHi (i32.add (local.get $wLo) (local.get $fW)))
            (if (i32.lt_s (local.get $wLo) (i32.const 0)) (then (local.set $wLo (i32.const 0))))
            (if (i32.gt_s (local.get $wHi) (local.get $inW)) (then (local.set $wHi (local.get $inW))))
            ;; Four channels at a time: pmax(m, v) keeps m when v is NaN.
            (local.set $c (i32.const 0))
            (block $c4Done (loop $c4s
              (br_if $c4Done (i32.gt_s (i32.add (local.get $c) (i32.const 4)) (local.get $C)))
              (local.set $m (f32x4.splat (f32.const -inf)))
              (local.set $d (local.get $dLo))
              (block $dDone (loop $ds
                (br_if $dDone (i32.ge_s (local.get $d) (local.get $dHi)))
                (local.set $h (local.get $hLo))
                (block $hDone (loop $hs
                  (br_if $hDone (i32.ge_s (local.get $h) (local.get $hHi)))
                  (local.set $w (local.get $wLo))
                  (block $wDone (loop $ws
                    (br_if $wDone (i32.ge_s (local.get $w) (local.get $wHi)))
                    (local.set $base
                      (i32.add
                        (i32.mul
                          (i32.add
                            (i32.mul
                              (i32.add (i32.mul (i32.add (i32.mul (local.get $n) (local.get $inD)) (local.get $d)) (local.get $inH)) (local.get $h))
                              (local.get $inW))
                            (local.get $w))
                          (local.get $C))
                        (local.get $c)))
                    (local.set $m
                      (f32x4.pmax (local.get $m)
                        (v128.load (i32.add (local.get $x) (i32.shl (local.get $base) (i32.const 2))))))
                    (local.set $w (i32.add (local.get $w) (i32.const 1)))
                    (br $ws)))
                  (local.set $h (i32.add (local.get $h) (i32.const 1)))
                  (br $hs)))
                (local.set $d (i32.add (local.get $d) (i32.const 1)))
                (br $ds)))
              (v128.store
                (i32.add (local.get $y) (i32.shl (i32.add (local.get $o) (local.get $c)) (i32.const 2)))
                (local.get $m))
              (local.set $c (i32.add (local.get $c) (i32.const 4)))
              (br $c4s)))
            ;; The channels left over, one at a time.
            (block $c1Done (loop $c1s
              (br_if $c1Done (i32.ge_s (local.get $c) (local.get $C)))
              (local.set $s (f32.const -inf))
              (local.set $d (local.get $dLo))
              (block $dDone1 (loop $ds1
                (br_if $dDone1 (i32.ge_s (local.get $d) (local.get $dHi)))
                (local.set $h (local.get $hLo))
                (block $hDone1 (loop $hs1
                  (br_if $hDone1 (i32.ge_s (local.get $h) (local.get $hHi)))
                  (local.set $w (local.get $wLo))
                  (block $wDone1 (loop $ws1
                    (br_if $wDone1 (i32.ge_s (local.get $w) (local.get $wHi)))
                    (local.set $v
                      (f32.load
                        (i32.add (local.get $x)
                          (i32.shl
                            (i32.add
                              (i32.mul
                                (i32.add
                                  (i32.mul
                                    (i32.add (i32.mul (i32.add (i32.mul (local.get $n) (local.get $inD)) (local.get $d)) (local.get $inH)) (local.get $h))
                                    (local.get $inW))
                                  (local.get $w))
                                (local.get $C))
                              (local.get $c))
                            (i32.const 2)))))
                    (if (f32.gt (local.get $v) (local.get $s)) (then (local.set $s (local.get $v))))
                    (local.set $w (i32.add (local.get $w) (i32.const 1)))
                    (br $ws1)))
                  (local.set $h (i32.add (local.get $h) (i32.const 1)))
                  (br $hs1)))
                (local.set $d (i32.add (local.get $d) (i32.const 1)))
                (br $ds1)))
              (f32.store
                (i32.add (local.get $y) (i32.shl (i32.add (local.get $o) (local.get $c)) (i32.const 2)))
                (local.get $s))
              (local.set $c (i32.add (local.get $c) (i32.const 1)))
              (br $c1s)))
            (local.set $o (i32.add (local.get $o) (local.get $C)))
            (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
            (br $ows)))
          (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
          (br $ohs)))
        (local.set $od (i32.add (local.get $od) (i32.const 1)))
        (br $ods)))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $ns))))

  ;; Max pooling gradient (max-pool-grad.ts maxPoolBackprop): dx (cleared by the
  ;; caller) += dy routed to one maximum per window; $last = 1 lets a later equal
  ;; value win ('>='), 0 keeps the first ('>'). NaN never wins.
  (func (export "maxPoolBackprop")
    (param $x i32) (param $dy i32) (param $dx i32) (param $last i32) (param $batch i32) (param $C i32)
    (param $inD i32) (param $inH i32) (param $inW i32)
    (param $outD i32) (param $outH i32) (param $outW i32)
    (param $fD i32) (param $fH i32) (param $fW i32)
    (param $sD i32) (param $sH i32) (param $sW i32)
    (param $padF i32) (param $padT i32) (param $padL i32)
    (local $n i32) (local $od i32) (local $oh i32) (local $ow i32) (local $o i32)
    (local $dLo i32) (local $dHi i32) (local $hLo i32) (local $hHi i32) (local $wLo i32) (local $wHi i32)
    (local $d i32) (local $h i32) (local $w i32) (local $c i32) (local $base i32) (local $k i32) (local $at i32)
    (local $best v128) (local $where v128) (local $v v128) (local $mask v128) (local $lanes v128)
    (local $sBest f32) (local $sv f32) (local $sWhere i32) (local $addr i32)
    (local.set $lanes (v128.const i32x4 0 1 2 3))
    (local.set $n (i32.const 0))
    (block $nDone (loop $ns
      (br_if $nDone (i32.ge_s (local.get $n) (local.get $batch)))
      (local.set $od (i32.const 0))
      (block $odDone (loop $ods
        (br_if $odDone (i32.ge_s (local.get $od) (local.get $outD)))
        (local.set $dLo (i32.sub (i32.mul (local.get $od) (local.get $sD)) (local.get $padF)))
        (local.set $dHi (i32.add (local.get $dLo) (local.get $fD)))
        (if (i32.lt_s (local.get $dLo) (i32.const 0)) (then (local.set $dLo (i32.const 0))))
        (if (i32.gt_s (local.get $dHi) (local.get $inD)) (then (local.set $dHi (local.get $inD))))
        (local.set $oh (i32.const 0))
        (block $ohDone (loop $ohs
          (br_if $ohDone (i32.ge_s (local.get $oh) (local.get $outH)))
          (local.set $hLo (i32.sub (i32.mul (local.get $oh) (local.get $sH)) (local.get $padT)))
          (local.set $hHi (i32.add (local.get $hLo) (local.get $fH)))
          (if (i32.lt_s (local.get $hLo) (i32.const 0)) (then (local.set $hLo (i32.const 0))))
          (if (i32.gt_s (local.get $hHi) (local.get $inH)) (then (local.set $hHi (local.get $inH))))
          (local.set $ow (i32.const 0))
          (block $owDone (loop $ows
            (br_if $owDone (i32.ge_s (local.get $ow) (local.get $outW)))
            (local.set $wLo (i32.sub (i32.mul (local.get $ow) (local.get $sW)) (local.get $padL)))
            (local.set $wHi (i32.add (local.get $wLo) (local.get $fW)))
            (if (i32.lt_s (local.get $wLo) (i32.const 0)) (then (local.set $wLo (i32.const 0))))
            (if (i32.gt_s (local.get $wHi) (local.get $inW)) (then (local.set $wHi (local.get $inW))))
            (local.set $c (i32.const 0))
            (block $c4Done (loop $c4s
              (br_if $c4Done (i32.gt_s (i32.add (local.get $c) (i32.const 4)) (local.get $C)))
              (local.set $best (f32x4.splat (f32.const -inf)))
              (local.set $where (i32x4.splat (i32.const -1)))
              (local.set $d (local.get $dLo))
              (block $dDone (loop $ds
                (br_if $dDone (i32.ge_s (local.get $d) (local.get $dHi)))
                (local.set $h (local.get $hLo))
                (block $hDone (loop $hs
                  (br_if $hDone (i32.ge_s (local.get $h) (local.get $hHi)))
                  (local.set $w (local.get $wLo))
                  (block $wDone (loop $ws
                    (br_if $wDone (i32.ge_s (local.get $w) (local.get $wHi)))
                    (local.set $base
                      (i32.add
                        (i32.mul
                          (i32.add
                            (i32.mul
                              (i32.add (i32.mul (i32.add (i32.mul (local.get $n) (local.get $inD)) (local.get $d)) (local.get $inH)) (local.get $h))
                              (local.get $inW))
                            (local.get $w))
                          (local.get $C))
                        (local.get $c)))
                    (local.set $v (v128.load (i32.add (local.get $x) (i32.shl (local.get $base) (i32.const 2)))))
                    (if (local.get $last)
                      (then (local.set $mask (f32x4.ge (local.get $v) (local.get $best))))
                      (else (local.set $mask (f32x4.gt (local.get $v) (local.get $best)))))
                    (local.set $best (v128.bitselect (local.get $v) (local.get $best) (local.get $mask)))
                    (local.set $where
                      (v128.bitselect
                        (i32x4.add (i32x4.splat (local.get $base)) (local.get $lanes))
                        (local.get $where)
                        (local.get $mask)))
                    (local.set $w (i32.add (local.get $w) (i32.const 1)))
                    (br $ws)))
                  (local.set $h (i32.add (local.get $h) (i32.const 1)))
                  (br $hs)))
                (local.set $d (i32.add (local.get $d) (i32.const 1)))
                (br $ds)))
              ;; Route the four channels' gradients (windows may overlap: add).
              (local.set $k (i32.const 0))
              (loop $route
                (local.set $at
                  (if (result i32) (i32.eq (local.get $k) (i32.const 0))
                    (then (i32x4.extract_lane 0 (local.get $where)))
                    (else
                      (if (result i32) (i32.eq (local.get $k) (i32.const 1))
                        (then (i32x4.extract_lane 1 (local.get $where)))
                        (else
                          (if (result i32) (i32.eq (local.get $k) (i32.const 2))
                            (then (i32x4.extract_lane 2 (local.get $where)))
                            (else (i32x4.extract_lane 3 (local.get $where)))))))))
                (if (i32.ge_s (local.get $at) (i32.const 0))
                  (then
                    (local.set $addr (i32.add (local.get $dx) (i32.shl (local.get $at) (i32.const 2))))
                    (f32.store (local.get $addr)
                      (f32.add (f32.load (local.get $addr))
                        (f32.load
                          (i32.add (local.get $dy)
                            (i32.shl (i32.add (i32.add (local.get $o) (local.get $c)) (local.get $k)) (i32.const 2))))))))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br_if $route (i32.lt_s (local.get $k) (i32.const 4))))
              (local.set $c (i32.add (local.get $c) (i32.const 4)))
              (br $c4s)))
            ;; The channels left over, one at a time.
            (block $c1Done (loop $c1s
              (br_if $c1Done (i32.ge_s (local.get $c) (local.get $C)))
              (local.set $sBest (f32.const -inf))
              (local.set $sWhere (i32.const -1))
              (local.set $d (local.get $dLo))
              (block $dDone1 (loop $ds1
                (br_if $dDone1 (i32.ge_s (local.get $d) (local.get $dHi)))
                (local.set $h (local.get $hLo))
                (block $hDone1 (loop $hs1
                  (br_if $hDone1 (i32.ge_s (local.get $h) (local.get $hHi)))
                  (local.set $w (local.get $wLo))
                  (block $wDone1 (loop $ws1
                    (br_if $wDone1 (i32.ge_s (local.get $w) (local.get $wHi)))
                    (local.set $base
                      (i32.add
                        (i32.mul
                          (i32.add
                            (i32.mul
                              (i32.add (i32.mul (i32.add (i32.mul (local.get $n) (local.get $inD)) (local.get $d)) (local.get $inH)) (local.get $h))
                              (local.get $inW))
                            (local.get $w))
                          (local.get $C))
                        (local.get $c)))
                    (local.set $sv (f32.load (i32.add (local.get $x) (i32.shl (local.get $base) (i32.const 2)))))
                    (if (if (result i32) (local.get $last)
                          (then (f32.ge (local.get $sv) (local.get $sBest)))
                          (else (f32.gt (local.get $sv) (local.get $sBest))))
                      (then (local.set $sBest (local.get $sv)) (local.set $sWhere (local.get $base))))
                    (local.set $w (i32.add (local.get $w) (i32.const 1)))
                    (br $ws1)))
                  (local.set $h (i32.add (local.get $h) (i32.const 1)))
                  (br $hs1)))
                (local.set $d (i32.add (local.get $d) (i32.const 1)))
                (br $ds1)))
              (if (i32.ge_s (local.get $sWhere) (i32.const 0))
                (then
                  (local.set $addr (i32.add (local.get $dx) (i32.shl (local.get $sWhere) (i32.const 2))))
                  (f32.store (local.get $addr)
                    (f32.add (f32.load (local.get $addr))
                      (f32.load
                        (i32.add (local.get $dy) (i32.shl (i32.add (local.get $o) (local.get $c)) (i32.const 2))))))))
              (local.set $c (i32.add (local.get $c) (i32.const 1)))
              (br $c1s)))
            (local.set $o (i32.add (local.get $o) (local.get $C)))
            (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
            (br $ows)))
          (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
          (br $ohs)))
        (local.set $od (i32.add (local.get $od) (i32.const 1)))
        (br $ods)))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $ns))))

  ;; Column sums of the row-major [rows, cols] matrix x into out (sum-leading-axes.ts
  ;; sumRows): accumulated in float64 at acc (cols doubles, scratch), row by row, then
  ;; rounded to float32, so the result is bit-identical to the JavaScript.
  (func (export "sumRows") (param $x i32) (param $out i32) (param $acc i32) (param $rows i32) (param $cols i32)
    (local $r i32) (local $c i32) (local $row i32) (local $a i32) (local $v v128)
    (memory.fill (local.get $acc) (i32.const 0) (i32.shl (local.get $cols) (i32.const 3)))
    (local.set $row (local.get $x))
    (block $rowsDone
      (loop $rowsLoop
        (br_if $rowsDone (i32.ge_s (local.get $r) (local.get $rows)))
        (local.set $c (i32.const 0))
        (block $c4Done
          (loop $c4s
            (br_if $c4Done (i32.gt_s (i32.add (local.get $c) (i32.const 4)) (local.get $cols)))
            (local.set $v (v128.load (i32.add (local.get $row) (i32.shl (local.get $c) (i32.const 2)))))
            (local.set $a (i32.add (local.get $acc) (i32.shl (local.get $c) (i32.const 3))))
            (v128.store (local.get $a)
              (f64x2.add (v128.load (local.get $a)) (f64x2.promote_low_f32x4 (local.get $v))))
            (v128.store offset=16 (local.get $a)
              (f64x2.add (v128.load offset=16 (local.get $a))
                (f64x2.promote_low_f32x4
                  (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
            (local.set $c (i32.add (local.get $c) (i32.const 4)))
            (br $c4s)))
        (block $c1Done
          (loop $c1s
            (br_if $c1Done (i32.ge_s (local.get $c) (local.get $cols)))
            (local.set $a (i32.add (local.get $acc) (i32.shl (local.get $c) (i32.const 3))))
            (f64.store (local.get $a)
              (f64.add (f64.load (local.get $a))
                (f64.promote_f32 (f32.load (i32.add (local.get $row) (i32.shl (local.get $c) (i32.const 2)))))))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $c1s)))
        (local.set $row (i32.add (local.get $row) (i32.shl (local.get $cols) (i32.const 2))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rowsLoop)))
    (local.set $c (i32.const 0))
    (block $outDone
      (loop $outs
        (br_if $outDone (i32.ge_s (local.get $c) (local.get $cols)))
        (f32.store (i32.add (local.get $out) (i32.shl (local.get $c) (i32.const 2)))
          (f32.demote_f64 (f64.load (i32.add (local.get $acc) (i32.shl (local.get $c) (i32.const 3))))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $outs))))

  ;; out[r, c] = x[r, c] + bias[c] for the row-major [rows, cols] x: the broadcast
  ;; addition of a layer's bias, IEEE float32 additions as the stock Add makes them.
  (func (export "addRowVector") (param $x i32) (param $bias i32) (param $out i32) (param $rows i32) (param $cols i32)
    (local $r i32) (local $c i32) (local $from i32) (local $to i32)
    (local.set $from (local.get $x))
    (local.set $to (local.get $out))
    (block $rowsDone
      (loop $rowsLoop
        (br_if $rowsDone (i32.ge_s (local.get $r) (local.get $rows)))
        (local.set $c (i32.const 0))
        (block $c4Done
          (loop $c4s
            (br_if $c4Done (i32.gt_s (i32.add (local.get $c) (i32.const 4)) (local.get $cols)))
            (v128.store (i32.add (local.get $to) (i32.shl (local.get $c) (i32.const 2)))
              (f32x4.add
                (v128.load (i32.add (local.get $from) (i32.shl (local.get $c) (i32.const 2))))
                (v128.load (i32.add (local.get $bias) (i32.shl (local.get $c) (i32.const 2))))))
            (local.set $c (i32.add (local.get $c) (i32.const 4)))
            (br $c4s)))
        (block $c1Done
          (loop $c1s
            (br_if $c1Done (i32.ge_s (local.get $c) (local.get $cols)))
            (f32.store (i32.add (local.get $to) (i32.shl (local.get $c) (i32.const 2)))
              (f32.add
                (f32.load (i32.add (local.get $from) (i32.shl (local.get $c) (i32.const 2))))
                (f32.load (i32.add (local.get $bias) (i32.shl (local.get $c) (i32.const 2))))))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $c1s)))
        (local.set $from (i32.add (local.get $from) (i32.shl (local.get $cols) (i32.const 2))))
        (local.set $to (i32.add (local.get $to) (i32.shl (local.get $cols) (i32.const 2))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rowsLoop))))

  ;; ReLU's gradient dy · step(x) in one pass (relu-grad.ts): step(x) is 1 for x > 0,
  ;; NaN for NaN and 0 otherwise, as tfjs defines it, so dy · 0 keeps its sign (−0).
  (func (export "reluBackward") (param $dy i32) (param $x i32) (param $out i32) (param $n i32)
    (local $i i32) (local $end i32) (local $xv v128) (local $step v128) (local $xs f32) (local $ss f32)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done4
      (loop $four
        (br_if $done4 (i32.gt_u (i32.add (local.get $i) (i32.const 16)) (local.get $end)))
        (local.set $xv (v128.load (i32.add (local.get $x) (local.get $i))))
        (local.set $step
          (v128.bitselect
            (local.get $xv)
            (v128.bitselect (f32x4.splat (f32.const 1)) (f32x4.splat (f32.const 0))
              (f32x4.gt (local.get $xv) (f32x4.splat (f32.const 0))))
            (f32x4.ne (local.get $xv) (local.get $xv))))
        (v128.store (i32.add (local.get $out) (local.get $i))
          (f32x4.mul (v128.load (i32.add (local.get $dy) (local.get $i))) (local.get $step)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $four)))
    (block $done1
      (loop $one
        (br_if $done1 (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $xs (f32.load (i32.add (local.get $x) (local.get $i))))
        (local.set $ss
          (if (result f32) (f32.ne (local.get $xs) (local.get $xs))
            (then (local.get $xs))
            (else (if (result f32) (f32.gt (local.get $xs) (f32.const 0)) (then (f32.const 1)) (else (f32.const 0))))))
        (f32.store (i32.add (local.get $out) (local.get $i))
          (f32.mul (f32.load (i32.add (local.get $dy) (local.get $i))) (local.get $ss)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $one))))

  ;; Max pooling gradient when windows tile the input without overlap or padding
  ;; (window = stride, the CNNs' 2× pools): each input pixel belongs to one window, so
  ;; dx is written with whole-vector stores (dy where the pixel is its window's
  ;; maximum, else 0) instead of scattered additions. Same routing as maxPoolBackprop;
  ;; pixels outside every window (sizes not multiples of the stride) are left as they
  ;; are (the caller clears dx).
  (func (export "maxPoolBackpropTiled")
    (param $x i32) (param $dy i32) (param $dx i32) (param $last i32) (param $batch i32) (param $C i32)
    (param $inD i32) (param $inH i32) (param $inW i32)
    (param $outD i32) (param $outH i32) (param $outW i32)
    (param $fD i32) (param $fH i32) (param $fW i32)
    (local $n i32) (local $od i32) (local $oh i32) (local $ow i32) (local $o i32)
    (local $d i32) (local $h i32) (local $w i32) (local $c i32) (local $base i32) (local $pass i32)
    (local $best v128) (local $where v128) (local $v v128) (local $mask v128) (local $lanes v128) (local $g v128)
    (local $sBest f32) (local $sv f32) (local $sWhere i32)
    (local.set $lanes (v128.const i32x4 0 1 2 3))
    (local.set $n (i32.const 0))
    (block $nDone (loop $ns
      (br_if $nDone (i32.ge_s (local.get $n) (local.get $batch)))
      (local.set $od (i32.const 0))
      (block $odDone (loop $ods
        (br_if $odDone (i32.ge_s (local.get $od) (local.get $outD)))
        (local.set $oh (i32.const 0))
        (block $ohDone (loop $ohs
          (br_if $ohDone (i32.ge_s (local.get $oh) (local.get $outH)))
          (local.set $ow (i32.const 0))
          (block $owDone (loop $ows
            (br_if $owDone (i32.ge_s (local.get $ow) (local.get $outW)))
            (local.set $c (i32.const 0))
            (block $c4Done (loop $c4s
              (br_if $c4Done (i32.gt_s (i32.add (local.get $c) (i32.const 4)) (local.get $C)))
              ;; Pass 0 finds each channel's maximum; pass 1 writes dx for every window pixel.
              (local.set $best (f32x4.splat (f32.const -inf)))
              (local.set $where (i32x4.splat (i32.const -1)))
              ;; 0 + dy, as the general kernel's dx[at] += dy gives (−0 becomes +0).
              (local.set $g
                (f32x4.add (f32x4.splat (f32.const 0))
                  (v128.load (i32.add (local.get $dy) (i32.shl (i32.add (local.get $o) (local.get $c)) (i32.const 2))))))
              (local.set $pass (i32.const 0))
              (loop $passes
                (local.set $d (i32.mul (local.get $od) (local.get $fD)))
                (block $dDone (loop $ds
                  (br_if $dDone (i32.ge_s (local.get $d) (i32.mul (i32.add (local.get $od) (i32.const 1)) (local.get $fD))))
                  (local.set $h (i32.mul (local.get $oh) (local.get $fH)))
                  (block $hDone (loop $hs
                    (br_if $hDone (i32.ge_s (local.get $h) (i32.mul (i32.add (local.get $oh) (i32.const 1)) (local.get $fH))))
                    (local.set $w (i32.mul (local.get $ow) (local.get $fW)))
                    (block $wDone (loop $ws
                      (br_if $wDone (i32.ge_s (local.get $w) (i32.mul (i32.add (local.get $ow) (i32.const 1)) (local.get $fW))))
                      (local.set $base
                        (i32.add
                          (i32.mul
                            (i32.add
                              (i32.mul
                                (i32.add (i32.mul (i32.add (i32.mul (local.get $n) (local.get $inD)) (local.get $d)) (local.get $inH)) (local.get $h))
                                (local.get $inW))
                              (local.get $w))
                            (local.get $C))
                          (local.get $c)))
                      (if (i32.eqz (local.get $pass))
                        (then
                          (local.set $v (v128.load (i32.add (local.get $x) (i32.shl (local.get $base) (i32.const 2)))))
                          (if (local.get $last)
                            (then (local.set $mask (f32x4.ge (local.get $v) (local.get $best))))
                            (else (local.set $mask (f32x4.gt (local.get $v) (local.get $best)))))
                          (local.set $best (v128.bitselect (local.get $v) (local.get $best) (local.get $mask)))
                          (local.set $where
                            (v128.bitselect
                              (i32x4.add (i32x4.splat (local.get $base)) (local.get $lanes))
                              (local.get $where)
                              (local.get $mask))))
                        (else
                          (v128.store (i32.add (local.get $dx) (i32.shl (local.get $base) (i32.const 2)))
                            (v128.and (local.get $g)
                              (i32x4.eq (local.get $where)
                                (i32x4.add (i32x4.splat (local.get $base)) (local.get $lanes)))))))
                      (local.set $w (i32.add (local.get $w) (i32.const 1)))
                      (br $ws)))
                    (local.set $h (i32.add (local.get $h) (i32.const 1)))
                    (br $hs)))
                  (local.set $d (i32.add (local.get $d) (i32.const 1)))
                  (br $ds)))
                (local.set $pass (i32.add (local.get $pass) (i32.const 1)))
                (br_if $passes (i32.lt_s (local.get $pass) (i32.const 2))))
              (local.set $c (i32.add (local.get $c) (i32.const 4)))
              (br $c4s)))
            ;; The channels left over, one at a time (dx was cleared: add to the maximum only).
            (block $c1Done (loop $c1s
              (br_if $c1Done (i32.ge_s (local.get $c) (local.get $C)))
              (local.set $sBest (f32.const -inf))
              (local.set $sWhere (i32.const -1))
              (local.set $d (i32.mul (local.get $od) (local.get $fD)))
              (block $dDone1 (loop $ds1
                (br_if $dDone1 (i32.ge_s (local.get $d) (i32.mul (i32.add (local.get $od) (i32.const 1)) (local.get $fD))))
                (local.set $h (i32.mul (local.get $oh) (local.get $fH)))
                (block $hDone1 (loop $hs1
                  (br_if $hDone1 (i32.ge_s (local.get $h) (i32.mul (i32.add (local.get $oh) (i32.const 1)) (local.get $fH))))
                  (local.set $w (i32.mul (local.get $ow) (local.get $fW)))
                  (block $wDone1 (loop $ws1
                    (br_if $wDone1 (i32.ge_s (local.get $w) (i32.mul (i32.add (local.get $ow) (i32.const 1)) (local.get $fW))))
                    (local.set $base
                      (i32.add
                        (i32.mul
                          (i32.add
                            (i32.mul
                              (i32.add (i32.mul (i32.add (i32.mul (local.get $n) (local.get $inD)) (local.get $d)) (local.get $inH)) (local.get $h))
                              (local.get $inW))
                            (local.get $w))
                          (local.get $C))
                        (local.get $c)))
                    (local.set $sv (f32.load (i32.add (local.get $x) (i32.shl (local.get $base) (i32.const 2)))))
                    (if (if (result i32) (local.get $last)
                          (then (f32.ge (local.get $sv) (local.get $sBest)))
                          (else (f32.gt (local.get $sv) (local.get $sBest))))
                      (then (local.set $sBest (local.get $sv)) (local.set $sWhere (local.get $base))))
                    (local.set $w (i32.add (local.get $w) (i32.const 1)))
                    (br $ws1)))
                  (local.set $h (i32.add (local.get $h) (i32.const 1)))
                  (br $hs1)))
                (local.set $d (i32.add (local.get $d) (i32.const 1)))
                (br $ds1)))
              (if (i32.ge_s (local.get $sWhere) (i32.const 0))
                (then
                  (f32.store (i32.add (local.get $dx) (i32.shl (local.get $sWhere) (i32.const 2)))
                    (f32.add (f32.const 0)
                      (f32.load (i32.add (local.get $dy) (i32.shl (i32.add (local.get $o) (local.get $c)) (i32.const 2))))))))
              (local.set $c (i32.add (local.get $c) (i32.const 1)))
              (br $c1s)))
            (local.set $o (i32.add (local.get $o) (local.get $C)))
            (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
            (br $ows)))
          (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
          (br $ohs)))
        (local.set $od (i32.add (local.get $od) (i32.const 1)))
        (br $ods)))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $ns))))

  ;; Direct stride-1 convolution for inputs with few channels (the first layer of a
  ;; 3D CNN on one PET channel: 27-float patch rows make im2col slow to build). xp is
  ;; the input already zero-padded to [batch, outD + fD − 1, outH + fH − 1, outW + fW − 1, inC];
  ;; w is [fD, fH, fW, inC, outC] with outC a multiple of 16; y is [batch, outD, outH, outW, outC].
  ;; Two output positions × 16 channels per pass keep 8 accumulators and the 4 filter
  ;; vectors of a tap in registers. Each output sums its taps in (kd, kh, kw, c) order.
  (func (export "convDirect")
    (param $xp i32) (param $w i32) (param $y i32) (param $batch i32)
    (param $outD i32) (param $outH i32) (param $outW i32) (param $inC i32) (param $outC i32)
    (param $fD i32) (param $fH i32) (param $fW i32)
    (local $pH i32) (local $pW i32) (local $pD i32) (local $n i32) (local $od i32) (local $oh i32) (local $ow i32)
    (local $ob i32) (local $kd i32) (local $kh i32) (local $kw i32) (local $c i32) (local $pair i32)
    (local $xa i32) (local $wa i32) (local $ya i32) (local $step i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128)
    (local $w0 v128) (local $w1 v128) (local $w2 v128) (local $w3 v128) (local $s v128) (local $t v128)
    (local.set $pD (i32.sub (i32.add (local.get $outD) (local.get $fD)) (i32.const 1)))
    (local.set $pH (i32.sub (i32.add (local.get $outH) (local.get $fH)) (i32.const 1)))
    (local.set $pW (i32.sub (i32.add (local.get $outW) (local.get $fW)) (i32.const 1)))
    (block $nDone (loop $ns
      (br_if $nDone (i32.ge_s (local.get $n) (local.get $batch)))
      (local.set $od (i32.const 0))
      (block $odDone (loop $ods
        (br_if $odDone (i32.ge_s (local.get $od) (local.get $outD)))
        (local.set $oh (i32.const 0))
        (block $ohDone (loop $ohs
          (br_if $ohDone (i32.ge_s (local.get $oh) (local.get $outH)))
          (local.set $ow (i32.const 0))
          (block $owDone (loop $ows
            (br_if $owDone (i32.ge_s (local.get $ow) (local.get $outW)))
            ;; A pair of positions (ow, ow + 1), or the last one alone.
            (local.set $pair (i32.lt_s (i32.add (local.get $ow) (i32.const 1)) (local.get $outW)))
            (local.set $ob (i32.const 0))
            (block $obDone (loop $obs
              (br_if $obDone (i32.ge_s (local.get $ob) (local.get $outC)))
              (local.set $a0 (v128.const i32x4 0 0 0 0)) (local.set $a1 (v128.const i32x4 0 0 0 0))
              (local.set $a2 (v128.const i32x4 0 0 0 0)) (local.set $a3 (v128.const i32x4 0 0 0 0))
              (local.set $b0 (v128.const i32x4 0 0 0 0)) (local.set $b1 (v128.const i32x4 0 0 0 0))
              (local.set $b2 (v128.const i32x4 0 0 0 0)) (local.set $b3 (v128.const i32x4 0 0 0 0))
              (local.set $wa (i32.add (local.get $w) (i32.shl (local.get $ob) (i32.const 2))))
              (local.set $kd (i32.const 0))
              (loop $kds
                (local.set $kh (i32.const 0))
                (loop $khs
                  ;; xp[n, od + kd, oh + kh, ow, 0]; the row's taps kw and channels c are contiguous.
                  (local.set $xa
                    (i32.add (local.get $xp)
                      (i32.shl
                        (i32.mul
                          (i32.add
                            (i32.mul
                              (i32.add
                                (i32.mul (i32.add (i32.mul (local.get $n) (local.get $pD)) (i32.add (local.get $od) (local.get $kd))) (local.get $pH))
                                (i32.add (local.get $oh) (local.get $kh)))
                              (local.get $pW))
                            (local.get $ow))
                          (local.get $inC))
                        (i32.const 2))))
                  (local.set $step (i32.mul (local.get $fW) (local.get $inC)))
                  (local.set $c (i32.const 0))
                  (loop $taps
                    (local.set $w0 (v128.load (local.get $wa)))
                    (local.set $w1 (v128.load offset=16 (local.get $wa)))
                    (local.set $w2 (v128.load offset=32 (local.get $wa)))
                    (local.set $w3 (v128.load offset=48 (local.get $wa)))
                    (local.set $s (v128.load32_splat (local.get $xa)))
                    (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $s) (local.get $w0))))
                    (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $s) (local.get $w1))))
                    (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $s) (local.get $w2))))
                    (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $s) (local.get $w3))))
                    ;; The next position reads inC floats further along the same row.
                    (local.set $t (v128.load32_splat (i32.add (local.get $xa) (i32.shl (local.get $inC) (i32.const 2)))))
                    (local.set $b0 (f32x4.add (local.get $b0) (f32x4.mul (local.get $t) (local.get $w0))))
                    (local.set $b1 (f32x4.add (local.get $b1) (f32x4.mul (local.get $t) (local.get $w1))))
                    (local.set $b2 (f32x4.add (local.get $b2) (f32x4.mul (local.get $t) (local.get $w2))))
                    (local.set $b3 (f32x4.add (local.get $b3) (f32x4.mul (local.get $t) (local.get $w3))))
                    (local.set $xa (i32.add (local.get $xa) (i32.const 4)))
                    (local.set $wa (i32.add (local.get $wa) (i32.shl (local.get $outC) (i32.const 2))))
                    (local.set $c (i32.add (local.get $c) (i32.const 1)))
                    (br_if $taps (i32.lt_s (local.get $c) (local.get $step))))
                  (local.set $kh (i32.add (local.get $kh) (i32.const 1)))
                  (br_if $khs (i32.lt_s (local.get $kh) (local.get $fH))))
                (local.set $kd (i32.add (local.get $kd) (i32.const 1)))
                (br_if $kds (i32.lt_s (local.get $kd) (local.get $fD))))
              ;; y[n, od, oh, ow, ob … ob + 15], and the next position's when there is one.
              (local.set $ya
                (i32.add (local.get $y)
                  (i32.shl
                    (i32.add
                      (i32.mul
                        (i32.add
                          (i32.mul
                            (i32.add (i32.mul (i32.add (i32.mul (local.get $n) (local.get $outD)) (local.get $od)) (local.get $outH)) (local.get $oh))
                            (local.get $outW))
                          (local.get $ow))
                        (local.get $outC))
                      (local.get $ob))
                    (i32.const 2))))
              (v128.store (local.get $ya) (local.get $a0))
              (v128.store offset=16 (local.get $ya) (local.get $a1))
              (v128.store offset=32 (local.get $ya) (local.get $a2))
              (v128.store offset=48 (local.get $ya) (local.get $a3))
              (if (local.get $pair)
                (then
                  (local.set $ya (i32.add (local.get $ya) (i32.shl (local.get $outC) (i32.const 2))))
                  (v128.store (local.get $ya) (local.get $b0))
                  (v128.store offset=16 (local.get $ya) (local.get $b1))
                  (v128.store offset=32 (local.get $ya) (local.get $b2))
                  (v128.store offset=48 (local.get $ya) (local.get $b3))))
              (local.set $ob (i32.add (local.get $ob) (i32.const 16)))
              (br $obs)))
            (local.set $ow (i32.add (local.get $ow) (i32.const 2)))
            (br $ows)))
          (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
          (br $ohs)))
        (local.set $od (i32.add (local.get $od) (i32.const 1)))
        (br $ods)))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $ns))))

  ;; Filter gradient of a stride-1 convolution with 3-wide filters, few input channels
  ;; and output channels in sixteens (the direct counterpart of convDirect): dw[kd, kh,
  ;; kw, c, o] = Σ over output positions of xp[position + tap] · dy[position, o], with xp
  ;; zero-padded as for convDirect. One output line at a time so its dy (outW × 16
  ;; floats) stays in cache across the fD·fH filter rows and the input channels; the
  ;; three taps kw of a filter row share each dy load (12 accumulators). dw is overwritten.
  (func (export "convFilterGradDirect3")
    (param $xp i32) (param $dy i32) (param $dw i32) (param $batch i32)
    (param $outD i32) (param $outH i32) (param $outW i32) (param $inC i32) (param $outC i32)
    (param $fD i32) (param $fH i32)
    (local $pD i32) (local $pH i32) (local $pW i32) (local $n i32) (local $od i32) (local $oh i32) (local $ow i32)
    (local $ob i32) (local $kd i32) (local $kh i32) (local $c i32)
    (local $xa i32) (local $da i32) (local $wa0 i32) (local $wa1 i32) (local $wa2 i32) (local $tapStride i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128)
    (local $e0 v128) (local $e1 v128) (local $e2 v128) (local $e3 v128)
    (local $d0 v128) (local $d1 v128) (local $d2 v128) (local $d3 v128) (local $s v128)
    (local.set $pD (i32.sub (i32.add (local.get $outD) (local.get $fD)) (i32.const 1)))
    (local.set $pH (i32.sub (i32.add (local.get $outH) (local.get $fH)) (i32.const 1)))
    (local.set $pW (i32.add (local.get $outW) (i32.const 2)))
    ;; Bytes between taps kw and kw + 1 in dw.
    (local.set $tapStride (i32.shl (i32.mul (local.get $inC) (local.get $outC)) (i32.const 2)))
    (memory.fill (local.get $dw) (i32.const 0)
      (i32.mul (i32.mul (local.get $fD) (local.get $fH)) (i32.mul (i32.const 3) (local.get $tapStride))))
    (local.set $ob (i32.const 0))
    (block $obDone (loop $obs
      (br_if $obDone (i32.ge_s (local.get $ob) (local.get $outC)))
        (local.set $n (i32.const 0))
        (block $nDone (loop $ns
          (br_if $nDone (i32.ge_s (local.get $n) (local.get $batch)))
          (local.set $od (i32.const 0))
          (block $odDone (loop $ods
            (br_if $odDone (i32.ge_s (local.get $od) (local.get $outD)))
            (local.set $oh (i32.const 0))
            (block $ohDone (loop $ohs
              (br_if $ohDone (i32.ge_s (local.get $oh) (local.get $outH)))
              (local.set $kd (i32.const 0))
              (loop $kds
                (local.set $kh (i32.const 0))
                (loop $khs
                  ;; Each input channel in turn: the line's dy and x rows stay in cache.
                  (local.set $c (i32.const 0))
                  (loop $cs
                  (local.set $wa0
                    (i32.add (local.get $dw)
                      (i32.add
                        (i32.mul (i32.mul (i32.add (i32.mul (local.get $kd) (local.get $fH)) (local.get $kh)) (i32.const 3)) (local.get $tapStride))
                        (i32.shl (i32.add (i32.mul (local.get $c) (local.get $outC)) (local.get $ob)) (i32.const 2)))))
                  (local.set $wa1 (i32.add (local.get $wa0) (local.get $tapStride)))
                  (local.set $wa2 (i32.add (local.get $wa1) (local.get $tapStride)))
                      (local.set $a0 (v128.load offset=0 (local.get $wa0)))
                      (local.set $a1 (v128.load offset=16 (local.get $wa0)))
                      (local.set $a2 (v128.load offset=32 (local.get $wa0)))
                      (local.set $a3 (v128.load offset=48 (local.get $wa0)))
                      (local.set $b0 (v128.load offset=0 (local.get $wa1)))
                      (local.set $b1 (v128.load offset=16 (local.get $wa1)))
                      (local.set $b2 (v128.load offset=32 (local.get $wa1)))
                      (local.set $b3 (v128.load offset=48 (local.get $wa1)))
                      (local.set $e0 (v128.load offset=0 (local.get $wa2)))
                      (local.set $e1 (v128.load offset=16 (local.get $wa2)))
                      (local.set $e2 (v128.load offset=32 (local.get $wa2)))
                      (local.set $e3 (v128.load offset=48 (local.get $wa2)))
                  ;; xp[n, od + kd, oh + kh, 0, c] and dy[n, od, oh, 0, ob].
                  (local.set $xa
                    (i32.add (local.get $xp)
                      (i32.shl
                        (i32.add
                          (i32.mul
                            (i32.mul
                              (i32.add
                                (i32.mul (i32.add (i32.mul (local.get $n) (local.get $pD)) (i32.add (local.get $od) (local.get $kd))) (local.get $pH))
                                (i32.add (local.get $oh) (local.get $kh)))
                              (local.get $pW))
                            (local.get $inC))
                          (local.get $c))
                        (i32.const 2))))
                  (local.set $da
                    (i32.add (local.get $dy)
                      (i32.shl
                        (i32.add
                          (i32.mul
                            (i32.mul
                              (i32.add (i32.mul (i32.add (i32.mul (local.get $n) (local.get $outD)) (local.get $od)) (local.get $outH)) (local.get $oh))
                              (local.get $outW))
                            (local.get $outC))
                          (local.get $ob))
                        (i32.const 2))))
                  (local.set $ow (i32.const 0))
                  (loop $ows
                    (local.set $d0 (v128.load (local.get $da)))
                    (local.set $d1 (v128.load offset=16 (local.get $da)))
                    (local.set $d2 (v128.load offset=32 (local.get $da)))
                    (local.set $d3 (v128.load offset=48 (local.get $da)))
                    (local.set $s (v128.load32_splat (local.get $xa)))
                          (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $s) (local.get $d0))))
                          (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $s) (local.get $d1))))
                          (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $s) (local.get $d2))))
                          (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $s) (local.get $d3))))
                    (local.set $s (v128.load32_splat (i32.add (local.get $xa) (i32.shl (local.get $inC) (i32.const 2)))))
                          (local.set $b0 (f32x4.add (local.get $b0) (f32x4.mul (local.get $s) (local.get $d0))))
                          (local.set $b1 (f32x4.add (local.get $b1) (f32x4.mul (local.get $s) (local.get $d1))))
                          (local.set $b2 (f32x4.add (local.get $b2) (f32x4.mul (local.get $s) (local.get $d2))))
                          (local.set $b3 (f32x4.add (local.get $b3) (f32x4.mul (local.get $s) (local.get $d3))))
                    (local.set $s (v128.load32_splat (i32.add (local.get $xa) (i32.shl (local.get $inC) (i32.const 3)))))
                          (local.set $e0 (f32x4.add (local.get $e0) (f32x4.mul (local.get $s) (local.get $d0))))
                          (local.set $e1 (f32x4.add (local.get $e1) (f32x4.mul (local.get $s) (local.get $d1))))
                          (local.set $e2 (f32x4.add (local.get $e2) (f32x4.mul (local.get $s) (local.get $d2))))
                          (local.set $e3 (f32x4.add (local.get $e3) (f32x4.mul (local.get $s) (local.get $d3))))
                    (local.set $xa (i32.add (local.get $xa) (i32.shl (local.get $inC) (i32.const 2))))
                    (local.set $da (i32.add (local.get $da) (i32.shl (local.get $outC) (i32.const 2))))
                    (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
                    (br_if $ows (i32.lt_s (local.get $ow) (local.get $outW))))
                      (v128.store offset=0 (local.get $wa0) (local.get $a0))
                      (v128.store offset=16 (local.get $wa0) (local.get $a1))
                      (v128.store offset=32 (local.get $wa0) (local.get $a2))
                      (v128.store offset=48 (local.get $wa0) (local.get $a3))
                      (v128.store offset=0 (local.get $wa1) (local.get $b0))
                      (v128.store offset=16 (local.get $wa1) (local.get $b1))
                      (v128.store offset=32 (local.get $wa1) (local.get $b2))
                      (v128.store offset=48 (local.get $wa1) (local.get $b3))
                      (v128.store offset=0 (local.get $wa2) (local.get $e0))
                      (v128.store offset=16 (local.get $wa2) (local.get $e1))
                      (v128.store offset=32 (local.get $wa2) (local.get $e2))
                      (v128.store offset=48 (local.get $wa2) (local.get $e3))
                  (local.set $c (i32.add (local.get $c) (i32.const 1)))
                  (br_if $cs (i32.lt_s (local.get $c) (local.get $inC))))
                  (local.set $kh (i32.add (local.get $kh) (i32.const 1)))
                  (br_if $khs (i32.lt_s (local.get $kh) (local.get $fH))))
                (local.set $kd (i32.add (local.get $kd) (i32.const 1)))
                (br_if $kds (i32.lt_s (local.get $kd) (local.get $fD))))
              (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
              (br $ohs)))
            (local.set $od (i32.add (local.get $od) (i32.const 1)))
            (br $ods)))
          (local.set $n (i32.add (local.get $n) (i32.const 1)))
          (br $ns)))
      (local.set $ob (i32.add (local.get $ob) (i32.const 16)))
      (br $obs))))
)
