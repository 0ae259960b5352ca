/// The options of nnU-Net v2's 2-D `PlainConvUNet` this project builds (dynamic-network-architectures 0.4.4, as
/// nnU-Net's planner configures it): per stage, `convsPerStage` Conv-InstanceNorm(affine)-LeakyReLU(0.01) blocks with
/// "same" padding, the first strided (nnU-Net's `pool="conv"`); up each decoder stage, a transposed convolution of
/// kernel = stride, `[up, skip]` concatenated, `convsPerStageDecoder` blocks and a 1x1 segmentation head. Inference
/// reads the last (full-resolution) head.
public struct PlainConvUNetConfiguration: Hashable, Sendable, Codable {
    /// `features_per_stage`, shallowest first (nnU-Net 2-D: `min(32·2^s, 512)`).
    public var features: [Int]
    /// Each stage's stride along the height, and along the width too unless `widthStrides` differs; the first is 1 in
    /// nnU-Net's plans.
    public var strides: [Int]
    /// Each stage's stride along the width where some differs from the height's (nnU-Net plans a patch whose sides
    /// differ in powers of two, e.g. 256x512, with `[1, 2]` strides at the deepest stages); nil when all are square.
    public var widthStrides: [Int]?
    /// Each stage's kernel size (odd) along the height, and along the width too unless `widthKernelSizes` differs.
    public var kernelSizes: [Int]
    /// Each stage's kernel size along the width where some differs from the height's (nnU-Net plans `[1, 3]` kernels
    /// for pixels two or more times longer one way); nil when all are square.
    public var widthKernelSizes: [Int]?
    /// `n_conv_per_stage` and `n_conv_per_stage_decoder` (one fewer).
    public var convsPerStage: [Int]
    public var convsPerStageDecoder: [Int]
    public var inputChannels: Int
    public var classes: Int
    public var convolutionBias: Bool

    /// `widthStrides` equal to `strides`, and `widthKernelSizes` equal to `kernelSizes`, are stored as nil (square).
    public init(features: [Int], strides: [Int], widthStrides: [Int]? = nil, kernelSizes: [Int]? = nil, widthKernelSizes: [Int]? = nil,
                convsPerStage: [Int]? = nil, convsPerStageDecoder: [Int]? = nil, inputChannels: Int, classes: Int, convolutionBias: Bool = true) {
        (self.features, self.strides, self.inputChannels, self.classes) = (features, strides, inputChannels, classes)
        self.widthStrides = widthStrides == strides ? nil : widthStrides
        self.kernelSizes = kernelSizes ?? Array(repeating: 3, count: features.count)
        self.widthKernelSizes = widthKernelSizes == self.kernelSizes ? nil : widthKernelSizes
        self.convsPerStage = convsPerStage ?? Array(repeating: 2, count: features.count)
        self.convsPerStageDecoder = convsPerStageDecoder ?? Array(repeating: 2, count: max(features.count - 1, 0))
        self.convolutionBias = convolutionBias
    }

    /// nnU-Net's 2-D defaults for `stages` stages: widths `min(32·2^s, 512)`, stride 1 then 2, 3x3, two convolutions.
    public static func nnUNetDefault(stages: Int = 7, inputChannels: Int, classes: Int) -> PlainConvUNetConfiguration {
        PlainConvUNetConfiguration(features: (0..<stages).map { min(32 << $0, 512) }, strides: [1] + Array(repeating: 2, count: stages - 1),
                                   inputChannels: inputChannels, classes: classes)
    }

    public static let maximumWidth = 4096

    /// Each stage's `[height, width]` stride, as nnU-Net's plans write them.
    public var stageStrides: [[Int]] { strides.indices.map { [strides[$0], widthStrides?[$0] ?? strides[$0]] } }

    /// Each stage's `[height, width]` kernel, as nnU-Net's plans write them.
    public var stageKernels: [[Int]] { kernelSizes.indices.map { [kernelSizes[$0], widthKernelSizes?[$0] ?? kernelSizes[$0]] } }

    /// The products of the strides along the height and the width: an input's sides must be multiples of them (nnU-Net's
    /// patch sizes are).
    public var sizeMultiples: [Int] { [strides.reduce(1, *), (widthStrides ?? strides).reduce(1, *)] }

    /// A side length both axes take: the least common multiple of `sizeMultiples` (their product's larger one for
    /// nnU-Net's powers of two).
    public var sizeMultiple: Int {
        let (a, b) = (sizeMultiples[0], sizeMultiples[1])
        func gcd(_ x: Int, _ y: Int) -> Int { y == 0 ? x : gcd(y, x % y) }
        return a / gcd(a, b) * b
    }

    /// `3,3,1x3` (each stage's kernel, `HxW` where its sides differ).
    public func kernelsText(separator: String = ",") -> String {
        Self.text(stageKernels, separator: separator)
    }

    /// `1,2,2,2x1` (the strides as `--strides` takes them: `HxW` where a stage's sides differ; `separator` between stages).
    public func stridesText(separator: String = ",") -> String {
        Self.text(stageStrides, separator: separator)
    }

    /// Each stage's `[height, width]` pair as one number where the sides agree, else `HxW`.
    private static func text(_ pairs: [[Int]], separator: String) -> String {
        pairs.map { $0[0] == $0[1] ? "\($0[0])" : "\($0[0])x\($0[1])" }.joined(separator: separator)
    }

    /// - Throws: `UNetError.invalidConfiguration` naming the option out of range.
    public func validate() throws(UNetError) {
        let n = features.count
        guard (2...10).contains(n), features.allSatisfy({ (1...Self.maximumWidth).contains($0) }) else {
            throw .invalidConfiguration("features \(features): 2 to 10 stages of 1...\(Self.maximumWidth)")
        }
        guard strides.count == n, (widthStrides ?? strides).count == n, (strides + (widthStrides ?? [])).allSatisfy({ (1...4).contains($0) }),
              sizeMultiple <= 4096 else {
            throw .invalidConfiguration("strides \(stridesText()): one per stage, each 1...4")
        }
        guard kernelSizes.count == n, (widthKernelSizes ?? kernelSizes).count == n,
              (kernelSizes + (widthKernelSizes ?? [])).allSatisfy({ $0 % 2 == 1 && (1...15).contains($0) }) else {
            throw .invalidConfiguration("kernel sizes \(kernelsText()): one odd size in 1...15 per stage and axis")
        }
        guard convsPerStage.count == n, convsPerStageDecoder.count == n - 1,
              (convsPerStage + convsPerStageDecoder).allSatisfy({ (1...8).contains($0) }) else {
            throw .invalidConfiguration("convolutions per stage \(convsPerStage) / decoder \(convsPerStageDecoder): 1...8 each")
        }
        guard (1...64).contains(inputChannels) else { throw .invalidConfiguration("\(inputChannels) input channels (1...64)") }
        guard (1...65536).contains(classes) else { throw .invalidConfiguration("\(classes) classes (1...65536)") }
    }

    /// The number of trainable parameters (every head included), counted before anything is allocated.
    public var parameterCount: Double {
        let bias = convolutionBias ? 1.0 : 0.0
        func conv(_ input: Int, _ output: Int, _ k: [Int]) -> Double { Double(input * output * k[0] * k[1]) + Double(output) * (bias + 2) }
        let (strides, kernels) = (stageStrides, stageKernels)
        var total = 0.0
        var width = inputChannels
        for (s, f) in features.enumerated() {
            for c in 0..<convsPerStage[s] { total += conv(c == 0 ? width : f, f, kernels[s]) }
            width = f
        }
        for i in 0..<(features.count - 1) {
            let (deep, skip, k) = (features[features.count - 1 - i], features[features.count - 2 - i], kernels[features.count - 2 - i])
            let stride = strides[features.count - 1 - i]
            total += Double(deep * skip * stride[0] * stride[1]) + Double(skip) * bias
            for c in 0..<convsPerStageDecoder[i] { total += conv(c == 0 ? 2 * skip : skip, skip, k) }
            total += Double(skip * classes + classes)
        }
        return total
    }

    /// About how many bytes the feature maps of a batch take, in float32 (see `UNetConfiguration.activationBytesEstimate`).
    public func activationBytesEstimate(batch: Int, height: Int, width: Int, training: Bool) -> Double {
        var scale = Double(height) * Double(width)
        var total = Double(inputChannels) * scale
        let strides = stageStrides
        for (s, f) in features.enumerated() {
            scale /= Double(strides[s][0] * strides[s][1])
            total += Double(f) * scale * Double(3 * convsPerStage[s] + (s > 0 ? 3 * convsPerStageDecoder[s - 1] + 3 : 0))
        }
        let logits = Double(classes) * Double(height) * Double(width) * (training ? 4 : 2)
        return (total * (training ? 3 : 1.5) + logits) * Double(batch) * 4
    }
}

extension PlainConvUNetConfiguration: CustomStringConvertible {
    /// `nnU-Net PlainConvUNet(features 32-64-128, strides 1-2-2, 1 -> 4 classes)` (`2x1` a stage whose strides differ).
    public var description: String {
        var parts = ["features \(features.map(String.init).joined(separator: "-"))", "strides \(stridesText(separator: "-"))"]
        if stageKernels.contains(where: { $0 != [3, 3] }) { parts.append("kernels \(kernelsText(separator: "-"))") }
        if convsPerStage.contains(where: { $0 != 2 }) || convsPerStageDecoder.contains(where: { $0 != 2 }) {
            parts.append("convolutions \(convsPerStage.map(String.init).joined(separator: "-")) / \(convsPerStageDecoder.map(String.init).joined(separator: "-"))")
        }
        if !convolutionBias { parts.append("no bias") }
        return "nnU-Net PlainConvUNet(\(parts.joined(separator: ", ")), \(inputChannels) -> \(classes) classes)"
    }
}
