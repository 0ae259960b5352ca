extension Graph {
    /// Floating-point operations of one forward pass over the graph's whole input batch, counted as the benchmark
    /// reference counts them (`../shared/bench/pytorch_unet.py`): `2·MACs` of every convolution
    /// (`2·output elements·C_in/groups·kH·kW`) and transposed convolution (`2·input elements·C_out/groups·kH·kW`);
    /// pooling, normalization, activations and up-sampling are not counted. A training step counts 3× this.
    public var forwardFLOPs: Double {
        nodes.reduce(0) { total, node in
            let input = shape(node.inputs[0])
            switch node.op {
            case .conv2d(let a):
                let output = shape(node.output)
                return total + 2 * Double(output.reduce(1, *)) * Double(input[1] / a.groups * a.kernel[0] * a.kernel[1])
            case .convTranspose2d(let a):
                return total + 2 * Double(input.reduce(1, *)) * Double(a.outputChannels / a.groups * a.kernel[0] * a.kernel[1])
            default:
                return total
            }
        }
    }
}
