import Graph
import NN

extension UNet {
    /// The network as a graph for input `(N, C_in, H, W)`, the form the engine compiles. It reads like the paper's
    /// figure: down the encoder (a double convolution per level, a 2x2 max-pool between), then up the decoder
    /// (up-sampling, the skip joined by padding or cropping and concatenation, a double convolution), and a 1x1
    /// convolution to logits. Parameters are named by the model's `state_dict` keys.
    /// - Throws: `UNetError.invalidInput` for a shape the model cannot take.
    public func graph(inputShape: [Int]) throws -> Graph { try graph(inputShape: inputShape, heads: nil) }

    /// For training with deep supervision: `graph(inputShape:)` with `heads` applied after every decoder step below the
    /// full resolution, their logits `Graph.auxiliaryOutputs`, the largest first (as nnU-Net's decoders order them). The
    /// heads' parameters are named by their keys under `UNetDeepSupervisionHeads.prefix`.
    /// - Precondition: `heads` were made for this model.
    public func deepSupervisionGraph(inputShape: [Int], heads: UNetDeepSupervisionHeads) throws -> Graph {
        precondition(heads.heads.count == decoders.count - 1, "UNet: deep supervision heads made for another network")
        return try graph(inputShape: inputShape, heads: heads)
    }

    private func graph(inputShape: [Int], heads: UNetDeepSupervisionHeads?) throws -> Graph {
        try checkInput(inputShape)
        let named = namedParameters() + (heads?.namedParameters(prefix: UNetDeepSupervisionHeads.prefix) ?? [])
        let keys = Dictionary(named.map { (ObjectIdentifier($0.1), $0.0) }, uniquingKeysWith: { a, _ in a })
        func key(_ parameter: Parameter) -> String { keys[ObjectIdentifier(parameter)]! }
        let c = configuration
        let b = GraphBuilder(inputShape: inputShape)

        func convolution(_ x: Graph.Value, _ conv: Conv2d, _ name: String) throws -> Graph.Value {
            let w = conv.weight.value.shape
            return try b.conv2d(x, Conv2dAttributes(weight: key(conv.weight), bias: conv.bias.map(key), outputChannels: w[0],
                                                    kernel: w[2], stride: conv.stride[0], padding: conv.padding[0]), name: name)
        }
        func normalization(_ x: Graph.Value, _ norm: BatchNorm2d?, _ name: String) throws -> Graph.Value {
            guard let norm else { return x }
            let prefix = String(key(norm.weight).dropLast("weight".count))
            return try b.batchNorm(x, BatchNormAttributes(prefix: prefix, epsilon: norm.epsilon, momentum: norm.momentum), name: name)
        }
        // (3x3 convolution → [BN] → ReLU) × 2.
        func doubleConv(_ x: Graph.Value, _ block: DoubleConv, _ name: String) throws -> Graph.Value {
            var y = try convolution(x, block.conv1, name + ".conv1")
            y = try b.relu(try normalization(y, block.norm1, name + ".bn1"), name: name + ".relu1")
            y = try convolution(y, block.conv2, name + ".conv2")
            return try b.relu(try normalization(y, block.norm2, name + ".bn2"), name: name + ".relu2")
        }

        // Encoder: level 0 at full resolution, each next level after a 2x2 max-pool.
        var skips: [Graph.Value] = []
        var x = b.input
        for (level, encoder) in encoders.enumerated() {
            let name = level == 0 ? "inc" : "down\(level)"
            if level > 0 { x = try b.maxPool(x, PoolAttributes(kernel: 2), name: name + ".pool") }
            x = try doubleConv(x, encoder, name)
            if level < c.depth { skips.append(x) }
        }
        // Decoder: up-sample, join the skip of the same level, double convolution (and a deep supervision head).
        var auxiliary: [Graph.Value] = []
        for (i, (upsampler, decoder)) in zip(upsamplers, decoders).enumerated() {
            let name = "up\(i + 1)"
            var up: Graph.Value
            switch upsampler {
            case .transposed(let t):
                let w = t.weight.value.shape
                up = try b.convTranspose2d(x, ConvTranspose2dAttributes(weight: key(t.weight), bias: t.bias.map(key), outputChannels: w[1],
                                                                        kernel: w[2], stride: t.stride[0], padding: t.padding), name: name + ".up")
            case .bilinear:
                up = try b.upsample(x, scale: 2, mode: .bilinear(alignCorners: true), name: name + ".up")
            }
            var skip = skips[c.depth - 1 - i]
            let (u, s) = (b.shape(up), b.shape(skip))
            let (dy, dx) = (s[2] - u[2], s[3] - u[3])
            if dy != 0 || dx != 0 {
                switch c.merge {
                case .pad:
                    // milesial's F.pad(x, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2]).
                    up = try b.pad(up, PadAttributes(top: dy / 2, bottom: dy - dy / 2, left: dx / 2, right: dx - dx / 2), name: name + ".pad")
                case .crop:
                    skip = try b.centerCrop(skip, height: u[2], width: u[3], name: name + ".crop")
                }
            }
            let joined = try b.concat(c.concatOrder == .skipFirst ? [skip, up] : [up, skip], name: name + ".cat")
            x = try doubleConv(joined, decoder, name)
            if let heads, i < heads.heads.count {
                auxiliary.insert(try convolution(x, heads.heads[i], "deep_supervision.\(i)"), at: 0)
            }
        }
        let logits = try convolution(x, head, "outc")
        return b.graph(output: logits, auxiliaryOutputs: auxiliary)
    }
}
