extension BasicUNetConfiguration {
    /// The configuration of a MONAI `BasicUNet` state dict, read from its keys and shapes: the features from each
    /// `TwoConv`'s first convolution, the norm from `adn.N`'s tensors (where there are none, `norm`, `--norm`, tells
    /// instance norm without affine parameters from no norm; else instance norm), the classes from `final_conv.weight`,
    /// PReLU from `adn.A.weight` (another activation leaves no trace: `activation`, `--act`, else LeakyReLU(0.1)).
    /// - Returns: nil when the keys are not a `BasicUNet`'s (no `conv_0.conv_0.conv.weight` or `final_conv.weight`).
    /// - Throws: `UNetError.incompatibleCheckpoint` for a `BasicUNet` this project does not build, naming what, or for
    ///   a `norm` or `activation` the keys contradict.
    public static func detect(shapes: [String: [Int]], norm: MONAINorm? = nil, activation: MONAIActivation? = nil) throws(UNetError)
        -> BasicUNetConfiguration?
    {
        guard let first = shapes["conv_0.conv_0.conv.weight"], let head = shapes["final_conv.weight"] else { return nil }
        guard first.count == 4, head.count == 4 else {
            throw .incompatibleCheckpoint("a \(first.count - 2)-D MONAI BasicUNet (conv_0.conv_0.conv.weight \(first)); 2-D networks are built")
        }
        guard shapes["upcat_4.upsample.deconv.weight"] != nil else {
            throw .incompatibleCheckpoint("a MONAI BasicUNet whose up-sampling is not upsample=\"deconv\" (no "
                + "upcat_4.upsample.deconv.weight), which this version does not build")
        }
        let prelu = "conv_0.conv_0.adn.A.weight"
        let act = try MONAIActivation.detect(key: prelu, shape: shapes[prelu], given: activation, fallback: defaultActivation,
                                             network: "MONAI BasicUNet")
        var features = [first[0]]
        for k in 1...4 {
            guard let w = shapes["down_\(k).convs.conv_0.conv.weight"], w.count == 4 else {
                throw .incompatibleCheckpoint("a MONAI BasicUNet without down_\(k).convs.conv_0.conv.weight")
            }
            features.append(w[0])
        }
        guard let last = shapes["upcat_1.convs.conv_0.conv.weight"], last.count == 4 else {
            throw .incompatibleCheckpoint("a MONAI BasicUNet without upcat_1.convs.conv_0.conv.weight")
        }
        features.append(last[0])
        return BasicUNetConfiguration(
            features: features, inputChannels: first[1], classes: head[0],
            norm: try MONAINorm.detect(keys: Array(shapes.keys), prefix: "conv_0.conv_0.adn.N.", given: norm), activation: act,
            bias: shapes["conv_0.conv_0.conv.bias"] != nil)
    }

    /// What the weights cannot show, said when a detected network is loaded: the activation unless it was given or is
    /// PReLU (`activationGiven`), and for affine norm parameters without running statistics, instance norm rather than
    /// group norm (whose keys are the same).
    public func detectionAssumptions(activationGiven: Bool) -> [String] {
        var notes: [String] = []
        if !activationGiven, activation != .prelu {
            notes.append("activations without parameters leave no trace in the weights: assumed BasicUNet's LeakyReLU(0.1); give --act "
                + "relu or leakyrelu:SLOPE for a network built otherwise")
        }
        if norm == .instanceAffine {
            notes.append("affine norm parameters without running statistics: assumed instance norm (group norm has the same keys and is "
                + "not built)")
        }
        return notes
    }
}
