extension UNetDecoder {
    /// A 2-D convolution weight of an nnU-Net state dict, `(out, in, kH, kW)`.
    /// - Throws: `UNetError.incompatibleCheckpoint` naming `key` when it is missing or not one.
    static func weight(_ shapes: [String: [Int]], _ key: String) throws(UNetError) -> [Int] {
        guard let w = shapes[key], w.count == 4 else {
            throw .incompatibleCheckpoint("an nnU-Net network without a 2-D \(key) (\(shapes[key].map { "\($0)" } ?? "missing"))")
        }
        return w
    }

    /// What the decoder of an `stages`-stage nnU-Net network shows of the encoder and itself: each stage's stride along
    /// the height and the width (its transposed convolution's kernel; the first stage's is nnU-Net's 1) and the
    /// convolutions per decoder stage.
    /// - Throws: `UNetError.incompatibleCheckpoint` naming a missing or malformed transposed convolution.
    static func detect(shapes: [String: [Int]], stages n: Int) throws(UNetError)
        -> (strides: [Int], widthStrides: [Int], convsPerStage: [Int])
    {
        var (strides, widthStrides) = ([1], [1])
        for s in 1..<n {
            let key = "decoder.transpconvs.\(n - 1 - s).weight"
            guard let w = shapes[key], w.count == 4 else {
                throw .incompatibleCheckpoint("an nnU-Net network without a 2-D \(key) (\(shapes[key].map { "\($0)" } ?? "missing"))")
            }
            (strides, widthStrides) = (strides + [w[2]], widthStrides + [w[3]])
        }
        let convs = (0..<(n - 1)).map { i in
            var c = 0
            while c < 9, shapes["decoder.stages.\(i).convs.\(c).conv.weight"] != nil { c += 1 }
            return c
        }
        return (strides, widthStrides, convs)
    }
}
