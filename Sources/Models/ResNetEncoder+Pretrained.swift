import Checkpoints
import Tensors

extension ResNetEncoder {
    /// Initialises the encoder from a torchvision or timm ResNet state dict (ImageNet weights a user has:
    /// `conv1.weight`, `bn1.*`, `layer1.0.conv1.weight`, ...; the classifier `fc.*` is dropped), as smp does for
    /// `encoder_weights`. For other than 3 input channels the stem's weight is adapted as smp's `patch_first_conv`
    /// does: summed over RGB for one channel, else channel `i` takes RGB channel `i mod 3`, scaled by `3 / C_in`.
    /// - Throws: `CheckpointError` for an unreadable file, `UNetError.incompatibleCheckpoint` naming the first key
    ///   missing, unexpected or of another shape.
    public func loadPretrained(path: String) throws {
        try loadPretrained(try Checkpoint.read(path: path).tensors, path: path)
    }

    /// `loadPretrained(path:)` from a file's tensors (an `encoder.` prefix, as smp checkpoints have, is taken off);
    /// `path` labels errors.
    public func loadPretrained(_ tensors: [(key: String, tensor: StoredTensor)], path: String) throws(UNetError) {
        var byKey: [String: StoredTensor] = [:]
        for (key, tensor) in tensors {
            let name = key.hasPrefix("encoder.") ? String(key.dropFirst("encoder.".count)) : key
            if name.hasPrefix("fc.") { continue }
            byKey[name] = tensor
        }
        let parameters = namedParameters()
        let expected = Set(parameters.map(\.0))
        if let unexpected = byKey.keys.sorted().first(where: { !expected.contains($0) }) {
            throw .incompatibleCheckpoint("\(path): \(CheckpointError.quote(unexpected)) is not a key of a torchvision \(variant.rawValue)")
        }
        for (key, parameter) in parameters {
            guard let stored = byKey[key] else {
                throw .incompatibleCheckpoint("\(path): no '\(key)': not the weights of a torchvision \(variant.rawValue)")
            }
            guard stored.isFinite else { throw .incompatibleCheckpoint("\(path): '\(key)' holds NaN or infinite values") }
            var value = stored.floatTensor()
            if key == "conv1.weight", value.shape.count == 4, value.shape[1] == 3, parameter.value.shape[1] != 3 {
                value = Self.adaptedStem(value, inputChannels: parameter.value.shape[1])
            }
            guard value.shape == parameter.value.shape else {
                throw .incompatibleCheckpoint("\(path): '\(key)' is \(value.shape), a \(variant.rawValue) has \(parameter.value.shape)")
            }
            parameter.value = value
        }
    }

    /// smp's `patch_first_conv` for a `(64, 3, k, k)` stem weight: `(64, C_in, k, k)`.
    static func adaptedStem(_ weight: Tensor, inputChannels: Int) -> Tensor {
        let (out, plane) = (weight.shape[0], weight.shape[2] * weight.shape[3])
        var result = Tensor(shape: [out, inputChannels, weight.shape[2], weight.shape[3]])
        for o in 0..<out {
            for c in 0..<inputChannels {
                for i in 0..<plane {
                    let value: Float
                    if inputChannels == 1 {
                        value = (0..<3).reduce(0) { $0 + weight[flat: (o * 3 + $1) * plane + i] }
                    } else {
                        value = weight[flat: (o * 3 + c % 3) * plane + i] * 3 / Float(inputChannels)
                    }
                    result[flat: (o * inputChannels + c) * plane + i] = value
                }
            }
        }
        return result
    }
}
