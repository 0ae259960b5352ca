import Checkpoints
import Tensors

extension SMPUNetEncoder {
    /// Initialises the encoder from the state dict of the network it comes from (ImageNet weights a user has: a
    /// torchvision or timm ResNet's `conv1.weight`, `bn1.*`, `layer1.0.conv1.weight`, ..., an efficientnet-pytorch
    /// EfficientNet's `_conv_stem.weight`, `_blocks.0.*`, ...; the classifier, `fc.*` or `_fc.*`, is dropped; keys under
    /// another package's names are translated by `ownKey(pretrained:)`), as smp does
    /// for `encoder_weights`. For other than 3 input channels the stem's weight is adapted as smp's `patch_first_conv`
    /// does: summed over RGB for one channel, else channel `i` takes RGB channel `i mod 3`, scaled by `3 / C_in`.
    /// - Throws: `CheckpointError` for an unreadable file, `UNetError.incompatibleCheckpoint` naming the first key
    ///   missing, unexpected or of another shape.
    public func loadPretrained(path: String) throws {
        try loadPretrained(try Checkpoint.read(path: path).tensors, path: path)
    }

    /// `loadPretrained(path:)` from a file's tensors (an `encoder.` prefix, as smp checkpoints have, is taken off);
    /// `path` labels errors.
    public func loadPretrained(_ tensors: [(key: String, tensor: StoredTensor)], path: String) throws(UNetError) {
        // The encoder's key → the file's key (for messages) and its tensor.
        var byKey: [String: (named: String, tensor: StoredTensor)] = [:]
        for (key, tensor) in tensors {
            let own = ownKey(pretrained: key.hasPrefix("encoder.") ? String(key.dropFirst("encoder.".count)) : key)
            if own.hasPrefix(classifierPrefix) { continue }
            byKey[own] = (key, tensor)
        }
        let parameters = namedParameters()
        let expected = Set(parameters.map(\.0))
        if let unexpected = byKey.filter({ !expected.contains($0.key) }).min(by: { $0.key < $1.key }) {
            throw .incompatibleCheckpoint("\(path): \(CheckpointError.quote(unexpected.value.named)) is not a key of \(weightsDescription)")
        }
        for (key, parameter) in parameters {
            guard let (named, stored) = byKey[key] else {
                throw .incompatibleCheckpoint("\(path): no '\(key)': not the weights of \(weightsDescription)")
            }
            guard stored.isFinite else {
                throw .incompatibleCheckpoint("\(path): \(CheckpointError.quote(named)) holds NaN or infinite values")
            }
            var value = stored.floatTensor()
            if key == stemKey, value.shape.count == 4, value.shape[1] == 3, parameter.value.shape[1] != 3 {
                value = Self.adaptedStem(value, inputChannels: parameter.value.shape[1])
            }
            guard value.shape == parameter.value.shape else {
                throw .incompatibleCheckpoint(
                    "\(path): \(CheckpointError.quote(named)) is \(value.shape), \(weightsDescription) has \(parameter.value.shape)")
            }
            parameter.value = value
        }
    }

    /// smp's `patch_first_conv` for a `(C_out, 3, k, k)` stem weight: `(C_out, C_in, k, k)`.
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
