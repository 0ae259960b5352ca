/// The options of MONAI's `UNet` this project builds (monai 1.6.1, 2-D, PReLU with one slope or another `activation`,
/// `dropout_dim=1`, `adn_ordering="NDA"`). Level `i` goes down with a `stride`-`strides[i]` block to `channels[i]`; the deepest
/// channels are the bottom block's (stride 1); each level comes back up with a transposed convolution after the
/// concatenation. MONAI's defaults are kernel 3, up kernel 3, no residual units, instance norm without affine
/// parameters, biases; this initializer's are the MONAI tutorials' network (channels 16-256, strides 2, two residual
/// units, batch norm).
public struct MONAIUNetConfiguration: Hashable, Sendable, Codable {
    /// MONAI's `channels`, top level first; the last is the bottom block's.
    public var channels: [Int]
    /// MONAI's `strides`, one per level above the bottom.
    public var strides: [Int]
    /// MONAI's `num_res_units`: 0 for plain `Convolution` blocks, else `ResidualUnit`s of that many sub-units.
    public var residualUnits: Int
    public var kernelSize: Int
    public var upKernelSize: Int
    public var norm: MONAINorm
    /// MONAI's `act` where it is not PReLU (nil: PReLU, the default, stored so that files written before stay as they were).
    public var act: MONAIActivation?
    public var bias: Bool
    public var inputChannels: Int
    public var classes: Int
    /// MONAI's `dropout` in every block's `adn` (nil: none, MONAI's default), in training only: a checkpoint does not
    /// record it.
    public var dropout: Float?

    /// `activation` PReLU is stored as nil.
    public init(channels: [Int] = [16, 32, 64, 128, 256], strides: [Int] = [2, 2, 2, 2], residualUnits: Int = 2, kernelSize: Int = 3,
                upKernelSize: Int = 3, norm: MONAINorm = .batch, activation: MONAIActivation = .prelu, bias: Bool = true, inputChannels: Int = 1,
                classes: Int = 2) {
        (self.channels, self.strides, self.residualUnits) = (channels, strides, residualUnits)
        (self.kernelSize, self.upKernelSize, self.norm, self.bias) = (kernelSize, upKernelSize, norm, bias)
        (self.inputChannels, self.classes) = (inputChannels, classes)
        act = activation == .prelu ? nil : activation
    }

    /// The blocks' activation.
    public var activation: MONAIActivation { act ?? .prelu }

    public static let maximumWidth = 4096

    /// The product of the strides: inputs must be multiples of it (MONAI's own condition).
    public var sizeMultiple: Int { strides.reduce(1, *) }

    /// - Throws: `UNetError.invalidConfiguration` naming the option out of range.
    public func validate() throws(UNetError) {
        guard (2...10).contains(channels.count), channels.allSatisfy({ (1...Self.maximumWidth).contains($0) }) else {
            throw .invalidConfiguration("channels \(channels): 2 to 10 levels of 1...\(Self.maximumWidth)")
        }
        guard strides.count == channels.count - 1, strides.allSatisfy({ (1...4).contains($0) }), sizeMultiple <= 4096 else {
            throw .invalidConfiguration("strides \(strides): one per level above the bottom (\(channels.count - 1)), each 1...4")
        }
        guard (0...8).contains(residualUnits) else { throw .invalidConfiguration("\(residualUnits) residual units (0...8)") }
        for (name, k) in [("kernel size", kernelSize), ("up kernel size", upKernelSize)] where !(1...15).contains(k) || k % 2 == 0 {
            throw .invalidConfiguration("\(name) \(k): odd, 1...15")
        }
        guard (1...64).contains(inputChannels) else { throw .invalidConfiguration("\(inputChannels) input channels (1...64)") }
        guard (1...65536).contains(classes) else { throw .invalidConfiguration("\(classes) classes (1...65536)") }
        if let dropout, !(dropout >= 0 && dropout < 1) { throw .invalidConfiguration("dropout \(dropout): in [0, 1)") }
    }

    /// Level `i`'s channels: into its down block, out of it, into its up block (the skip and the deeper level's
    /// output), and out of its up block.
    public func level(_ i: Int) -> (input: Int, down: Int, upInput: Int, output: Int) {
        let deepest = i == channels.count - 2
        return (i == 0 ? inputChannels : channels[i - 1], channels[i], channels[i] + (deepest ? channels[i + 1] : channels[i]),
                i == 0 ? classes : channels[i - 1])
    }

    /// The number of trainable parameters, counted from the configuration before anything is allocated.
    public var parameterCount: Double {
        let (normParameters, slope) = (norm.hasParameters ? 2 : 0, activation == .prelu ? 1 : 0)
        func unit(_ input: Int, _ output: Int, _ k: Int, adn: Bool = true) -> Double {
            Double(input * output * k * k + (bias ? output : 0)) + (adn ? Double(normParameters * output + slope) : 0)
        }
        func down(_ input: Int, _ output: Int, stride: Int) -> Double {
            guard residualUnits > 0 else { return unit(input, output, kernelSize) }
            var total = unit(input, output, kernelSize) + Double(residualUnits - 1) * unit(output, output, kernelSize)
            if stride != 1 || input != output { total += unit(input, output, stride == 1 ? 1 : kernelSize, adn: false) }
            return total
        }
        var total = down(channels[channels.count - 2], channels.last!, stride: 1)
        for i in 0..<(channels.count - 1) {
            let l = level(i)
            total += down(l.input, l.down, stride: strides[i])
            let top = i == 0
            total += unit(l.upInput, l.output, upKernelSize, adn: !(top && residualUnits == 0))
            if residualUnits > 0 { total += unit(l.output, l.output, kernelSize, adn: !top) }
        }
        return total
    }

    /// About how many bytes the feature maps of a batch take, in float32 (see `UNetConfiguration.activationBytesEstimate`).
    public func activationBytesEstimate(batch: Int, height: Int, width: Int, training: Bool) -> Double {
        var scale = Double(height) * Double(width)
        var total = 0.0
        for i in 0..<(channels.count - 1) {
            let l = level(i)
            let units = Double(max(1, residualUnits) + 1)
            total += Double(l.input) * scale
            scale /= Double(strides[i] * strides[i])
            total += Double(l.down) * units * 3 * scale + Double(l.upInput) * scale
        }
        total += Double(channels.last!) * Double(max(1, residualUnits) + 1) * 3 * scale
        let logits = Double(classes) * Double(height) * Double(width) * (training ? 4 : 2)
        return (total * (training ? 3 : 1.5) + logits) * Double(batch) * 4
    }
}

extension MONAIUNetConfiguration: CustomStringConvertible {
    /// `MONAI UNet(channels 16-32-64-128-256, strides 2-2-2-2, 2 residual units, batch norm, 1 -> 2 classes)`.
    public var description: String {
        var parts = ["channels \(channels.map(String.init).joined(separator: "-"))", "strides \(strides.map(String.init).joined(separator: "-"))",
                     "\(residualUnits) residual unit\(residualUnits == 1 ? "" : "s")", norm.phrase]
        if kernelSize != 3 || upKernelSize != 3 { parts.append("kernel \(kernelSize), up kernel \(upKernelSize)") }
        if let act { parts.append(act.phrase) }
        if !bias { parts.append("no bias") }
        if let dropout, dropout > 0 { parts.append("dropout \(dropout)") }
        return "MONAI UNet(\(parts.joined(separator: ", ")), \(inputChannels) -> \(classes) classes)"
    }
}
