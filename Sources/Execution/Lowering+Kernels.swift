import DNNL
import Graph

extension Lowering {
    /// The kernel that runs `node` (its primitives created now).
    func kernel(for node: Graph.Node) throws -> NodeKernel {
        switch node.op {
        case .conv2d(let a): return try Conv2dKernel(node, attributes: a, lowering: self)
        case .convTranspose2d(let a): return try ConvTranspose2dKernel(node, attributes: a, lowering: self)
        case .batchNorm(let a): return try BatchNormKernel(node, attributes: a, lowering: self)
        case .relu: return try ActivationKernel(node, .eltwise(.reluUsingOutput), lowering: self)
        case .leakyReLU(let slope): return try ActivationKernel(node, .eltwise(.leakyReLUUsingOutput(slope: slope)), lowering: self)
        case .sigmoid: return try ActivationKernel(node, .eltwise(.logistic), lowering: self)
        case .silu: return try ActivationKernel(node, .eltwise(.swish), lowering: self)
        case .relu6: return try ActivationKernel(node, .eltwise(.clipUsingOutput(lower: 0, upper: 6)), lowering: self)
        case .softmax: return try ActivationKernel(node, .softmax, lowering: self)
        case .maxPool(let a): return try PoolKernel(node, attributes: a, max: true, lowering: self)
        case .avgPool(let a): return try PoolKernel(node, attributes: a, max: false, lowering: self)
        case .globalAvgPool:
            let x = graph.shape(node.inputs[0])
            return try PoolKernel(node, attributes: .global(height: x[2], width: x[3]), max: false, lowering: self)
        case .upsample(let a): return try UpsampleKernel(node, attributes: a, lowering: self)
        case .pad(let a) where a.mode == .zeros:
            return try WindowKernel(node, crops: false, offset: (a.amounts[0], a.amounts[2]), lowering: self)
        case .pad(let a): return EdgePadKernel(node, attributes: a, lowering: self)
        case .centerCrop(let height, let width):
            let offset = WindowKernel.centerCropOffset(graph.shape(node.inputs[0]), height: height, width: width)
            return try WindowKernel(node, crops: true, offset: offset, lowering: self)
        case .concat: return try ConcatKernel(node, lowering: self)
        case .add: return try AddKernel(node, lowering: self)
        case .multiply: return try MultiplyKernel(node, lowering: self)
        case .gatedResidual(let activation): return try GatedResidualKernel(node, activation: activation, lowering: self)
        case .dropout(let rate, let perSample): return try DropoutKernel(node, rate: rate, perSample: perSample, lowering: self)
        case .depthToSpace(let block): return try DepthToSpaceKernel(node, block: block, lowering: self)
        case .interleave(let block): return try InterleaveKernel(node, block: block, lowering: self)
        case .convert: return try ConvertKernel(node, lowering: self)
        case .instanceNorm(let a):
            if let range = int8Values[node.output.id] { return try InstanceNormInt8Kernel(node, attributes: a, range: range, lowering: self) }
            // Read by an int8 network's bf16 edge (`PrecisionRegions.bf16Edges`).
            if quantization != nil, dataType(node.output) == .bf16 {
                return try InstanceNormInt8Kernel(node, attributes: a, range: nil, lowering: self)
            }
            return try InstanceNormKernel(node, attributes: a, lowering: self)
        case .prelu(let weight): return try PReLUKernel(node, weight: weight, lowering: self)
        }
    }
}
