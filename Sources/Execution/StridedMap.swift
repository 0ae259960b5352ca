import DNNL

/// Where the elements of an `(N, C, H, W)` value lie in its buffer, in any of the activation layouts (NCHW,
/// NHWC, channels in blocks), for the loops of a gate that weighs every pixel (smp's spatial squeeze-and-excitation):
/// element `(n, c)` of pixel `p = h·W + w` is at
/// `n·batchStride + (c / block)·blockStride + p·pixelStride + (c % block)·laneStride`.
/// oneDNN 2.6 broadcasts a `(N, 1, H, W)` operand over a blocked map only in its reference loops, and reduces over
/// channels only there; these loops run on its OpenMP threads instead (`Threads.parallel(chunks:)`), memory order
/// innermost, on float32 or bfloat16 elements (`MapElement`), computing in float32.
struct StridedMap {
    let batch: Int
    let channels: Int
    let pixels: Int
    /// Channels per block (all of them in NCHW and NHWC).
    let block: Int
    let blocks: Int
    let batchStride: Int
    let blockStride: Int
    let pixelStride: Int
    let laneStride: Int

    /// nil for a layout these loops do not walk (oneDNN's primitives then run instead). Strides count elements.
    init?(shape: [Int], format: FormatTag) {
        guard shape.count == 4 else { return nil }
        (batch, channels, pixels) = (shape[0], shape[1], shape[2] * shape[3])
        switch format {
        case .abcd: (block, laneStride, pixelStride) = (channels, pixels, 1)
        case .acdb: (block, laneStride, pixelStride) = (channels, 1, channels)
        case .aBcd8b: (block, laneStride, pixelStride) = (8, 1, 8)
        case .aBcd16b: (block, laneStride, pixelStride) = (16, 1, 16)
        default: return nil
        }
        blocks = (channels + block - 1) / block
        blockStride = block == channels ? 0 : pixels * block
        batchStride = format == .abcd || format == .acdb ? channels * pixels : blocks * pixels * block
    }

    /// The channels of block `b` (the last may hold fewer than `block`).
    fileprivate func lanes(_ b: Int) -> Int { min(block, channels - b * block) }

    /// The element types of a map (and its gradient and output) and of its gate: float32 or bf16 each.
    struct Elements {
        let map: DataType
        let gate: DataType
    }

    /// `y[n, c, p] = x[n, c, p] · gate[n, p]` for a gate `(N, 1, H, W)` laid out as `gateMap`; `y` may be `x`.
    func multiply(_ x: UnsafeRawPointer, byPixels gate: UnsafeRawPointer, _ gateMap: StridedMap, into y: UnsafeMutableRawPointer,
                  _ elements: Elements) {
        Threads.parallel(chunks: batch * blocks) { rows in
            PixelProducts(map: self, gateMap: gateMap, x: x, gate: gate, y: y, rows: rows).run(elements)
        }
    }

    /// `gate[n, p] = Σ_c a[n, c, p] · b[n, c, p]` into a gate `(N, 1, H, W)` laid out as `gateMap` (the gradient of a
    /// pixel gate: `a` the output's gradient, `b` the map it weighed).
    func pixelSums(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, into gate: UnsafeMutableRawPointer, _ gateMap: StridedMap,
                   _ elements: Elements) {
        Threads.parallel(chunks: batch) { images in
            PixelSums(map: self, gateMap: gateMap, a: a, b: b, gate: gate, images: images).run(elements)
        }
    }

    /// `gate[n, c] = Σ_p a[n, c, p] · b[n, c, p]` into a gate `(N, C, 1, 1)` laid out as `gateMap` (the gradient of a
    /// channel gate).
    func channelSums(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, into gate: UnsafeMutableRawPointer, _ gateMap: StridedMap,
                     _ elements: Elements) {
        Threads.parallel(chunks: batch * blocks) { rows in
            ChannelSums(map: self, gateMap: gateMap, a: a, b: b, gate: gate, rows: rows).run(elements)
        }
    }

    /// The rows `(n, block)` of `multiply`.
    private struct PixelProducts: ElementPairLoop {
        let map: StridedMap, gateMap: StridedMap
        let x: UnsafeRawPointer, gate: UnsafeRawPointer, y: UnsafeMutableRawPointer
        let rows: Range<Int>

        func loop<T: MapElement, G: MapElement>(_: T.Type, _: G.Type) {
            let (x, y) = (x.assumingMemoryBound(to: T.self), y.assumingMemoryBound(to: T.self))
            let gate = gate.assumingMemoryBound(to: G.self)
            for row in rows {
                let (n, b) = (row / map.blocks, row % map.blocks)
                let base = n * map.batchStride + b * map.blockStride
                let g = gate + n * gateMap.batchStride
                let count = map.lanes(b)
                if map.laneStride == 1 {
                    for p in 0..<map.pixels {
                        let (offset, weight) = (base + p * map.pixelStride, g[p * gateMap.pixelStride].float)
                        for l in 0..<count { y[offset + l] = T(float: x[offset + l].float * weight) }
                    }
                } else {
                    for l in 0..<count {
                        let offset = base + l * map.laneStride
                        for p in 0..<map.pixels {
                            y[offset + p * map.pixelStride] = T(float: x[offset + p * map.pixelStride].float * g[p * gateMap.pixelStride].float)
                        }
                    }
                }
            }
        }
    }

    /// The images of `pixelSums`.
    private struct PixelSums: ElementPairLoop {
        let map: StridedMap, gateMap: StridedMap
        let a: UnsafeRawPointer, b: UnsafeRawPointer, gate: UnsafeMutableRawPointer
        let images: Range<Int>

        func loop<T: MapElement, G: MapElement>(_: T.Type, _: G.Type) {
            let (a, b, gate) = (a.assumingMemoryBound(to: T.self), b.assumingMemoryBound(to: T.self), gate.assumingMemoryBound(to: G.self))
            var sums = [Float](repeating: 0, count: map.pixels)
            for n in images {
                for p in 0..<map.pixels { sums[p] = 0 }
                for k in 0..<map.blocks {
                    let base = n * map.batchStride + k * map.blockStride
                    let count = map.lanes(k)
                    for p in 0..<map.pixels {
                        var sum: Float = 0
                        for l in 0..<count {
                            let offset = base + p * map.pixelStride + l * map.laneStride
                            sum += a[offset].float * b[offset].float
                        }
                        sums[p] += sum
                    }
                }
                let g = gate + n * gateMap.batchStride
                for p in 0..<map.pixels { g[p * gateMap.pixelStride] = G(float: sums[p]) }
            }
        }
    }

    /// The rows `(n, block)` of `channelSums`.
    private struct ChannelSums: ElementPairLoop {
        let map: StridedMap, gateMap: StridedMap
        let a: UnsafeRawPointer, b: UnsafeRawPointer, gate: UnsafeMutableRawPointer
        let rows: Range<Int>

        func loop<T: MapElement, G: MapElement>(_: T.Type, _: G.Type) {
            let (a, b, gate) = (a.assumingMemoryBound(to: T.self), b.assumingMemoryBound(to: T.self), gate.assumingMemoryBound(to: G.self))
            var sums = [Float](repeating: 0, count: map.block)
            for row in rows {
                let (n, k) = (row / map.blocks, row % map.blocks)
                let base = n * map.batchStride + k * map.blockStride
                let count = map.lanes(k)
                for l in 0..<count { sums[l] = 0 }
                for p in 0..<map.pixels {
                    for l in 0..<count {
                        let offset = base + p * map.pixelStride + l * map.laneStride
                        sums[l] += a[offset].float * b[offset].float
                    }
                }
                for l in 0..<count {
                    let c = k * map.block + l
                    gate[n * gateMap.batchStride + (c / gateMap.block) * gateMap.blockStride + (c % gateMap.block) * gateMap.laneStride] = G(float: sums[l])
                }
            }
        }
    }
}
