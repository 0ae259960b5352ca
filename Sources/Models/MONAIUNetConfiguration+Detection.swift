extension MONAIUNetConfiguration {
    /// The configuration of a MONAI `UNet` state dict, read from its keys and shapes: the levels from how deep
    /// `model.1.submodule…` nests, the channels from each down block's first convolution, residual units from
    /// `conv.unit{k}`, the classes from the top up block's transposed convolution, the norm from `adn.N`'s tensors.
    /// Strides leave a trace only in residual units (a strided level's residual convolution has the full kernel, a
    /// stride-1 level's is 1x1 or absent): `strides`, where given (`--strides`), must agree with it; else strides above
    /// 1 are read as 2, MONAI's usual, and without residual units every stride is taken as 2 (`assumedStrides`: some
    /// stride was taken as 2 without a trace of its value). Instance norm without affine parameters and no norm
    /// leave the same keys: `norm` (`--norm`) tells them apart, else instance norm is assumed. PReLU shows in
    /// `adn.A.weight`; another activation must be given (`activation`, `--act`).
    /// - Returns: nil when the keys are not a MONAI `UNet`'s (no `model.0.…conv.weight` and `model.1.submodule.…`).
    /// - Throws: `UNetError.incompatibleCheckpoint` for a MONAI `UNet` this project does not build, naming what, or
    ///   for `strides` of another count than the levels or against the residual units' trace, or for a `norm` the keys
    ///   contradict, or without PReLU parameters and no `activation`.
    public static func detect(shapes: [String: [Int]], strides given: [Int]? = nil, norm: MONAINorm? = nil, activation: MONAIActivation? = nil)
        throws(UNetError)
        -> (MONAIUNetConfiguration, assumedStrides: Bool)?
    {
        let residualUnits: Int
        if shapes["model.0.conv.unit0.conv.weight"] != nil {
            var units = 1
            while units < 9, shapes["model.0.conv.unit\(units).conv.weight"] != nil { units += 1 }
            residualUnits = units
        } else if shapes["model.0.conv.weight"] != nil {
            residualUnits = 0
        } else {
            return nil
        }
        var levels = 0
        while levels < 12, shapes.keys.contains(where: { $0.hasPrefix(MONAIUNet.prefix(levels + 1) + ".") }) { levels += 1 }
        guard levels >= 1 else { return nil }
        let unit = residualUnits > 0 ? ".conv.unit0" : ""
        func weight(_ key: String) throws(UNetError) -> [Int] {
            guard let w = shapes[key], w.count == 4, w[2] == w[3] else {
                throw .incompatibleCheckpoint("a MONAI UNet without a 2-D square-kernel \(key) (\(shapes[key].map { "\($0)" } ?? "missing"))")
            }
            return w
        }
        var channels: [Int] = []
        var strides: [Int] = []
        let first = try weight("model.0\(unit).conv.weight")
        for i in 0...levels {
            let key = i == levels ? MONAIUNet.prefix(i) : MONAIUNet.prefix(i) + ".0"
            channels.append(try weight(key + unit + ".conv.weight")[0])
            guard i < levels else { break }
            if residualUnits > 0 {
                let residual = shapes[key + ".residual.weight"]
                strides.append(residual.map { $0.count == 4 && $0[2] > 1 ? 2 : 1 } ?? 1)
            } else {
                strides.append(2)
            }
        }
        let top = try weight(residualUnits > 0 ? "model.2.0.conv.weight" : "model.2.conv.weight")
        let prelu = "model.0\(unit).adn.A.weight"
        let act = try MONAIActivation.detect(key: prelu, shape: shapes[prelu], given: activation, fallback: nil, network: "MONAI UNet")
        if let given {
            guard given.count == strides.count else {
                throw .incompatibleCheckpoint("--strides \(ArchitectureOverrides.list(given)): the MONAI UNet has \(strides.count) "
                    + "levels above the bottom, one stride each")
            }
            if residualUnits > 0, let level = strides.indices.first(where: { (given[$0] == 1) != (strides[$0] == 1) }) {
                throw .incompatibleCheckpoint("--strides \(ArchitectureOverrides.list(given)): level \(level)'s residual units show a "
                    + "stride \(strides[level] == 1 ? "of 1" : "above 1")")
            }
            strides = given
        }
        let configuration = MONAIUNetConfiguration(
            channels: channels, strides: strides, residualUnits: residualUnits, kernelSize: first[2], upKernelSize: top[2],
            norm: try MONAINorm.detect(keys: Array(shapes.keys), prefix: "model.0\(unit).adn.N.", given: norm), activation: act,
            bias: shapes["model.0\(unit).conv.bias"] != nil, inputChannels: first[1], classes: top[1])
        return (configuration, given == nil && strides.contains(2))
    }

    /// The first block's activation and norm keys where a state dict's keys, in the order PyTorch saved them (a
    /// `.pth`'s; a safetensors file sorts them), hold the activation first: the block was built with MONAI's
    /// `adn_ordering` "ADN" or "AN", activation before norm, which this project does not build. nil where they hold
    /// the norm first or cannot show the order (no norm parameters).
    public static func activationBeforeNorm(keys: [String], residualUnits: Int) -> (activation: String, norm: String)? {
        let block = residualUnits > 0 ? "model.0.conv.unit0.adn." : "model.0.adn."
        guard let activation = keys.firstIndex(of: block + "A.weight"), let norm = keys.firstIndex(where: { $0.hasPrefix(block + "N.") }),
              activation < norm else { return nil }
        return (keys[activation], keys[norm])
    }
}
