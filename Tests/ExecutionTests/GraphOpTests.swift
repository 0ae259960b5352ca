import Execution
import Graph
import NN
import Tensors
import TestSupport
import Testing

/// Every op of the graph against PyTorch (`scripts/make_fixtures.py`, group `graph`): the output, the input
/// gradient and every parameter gradient, run as a one-node network with every pass off (the reference) and with
/// every pass on.
@Suite("Graph ops against PyTorch, passes off and on")
struct GraphOpTests {
    static let fixtures = [
        "conv2d_s2_p1", "conv2d_d2_p2", "conv2d_g2", "conv2d_k1_s2", "conv2d_k7_s2_p3", "conv2d_dw5_s2_same", "conv2d_relu6",
        "conv_transpose2d_k2_s2", "conv_transpose2d_k3_s2_p1_op1", "conv_transpose2d_k3_s2_p1_op1_c16", "conv_transpose2d_k4_s2_p1",
        "conv_transpose2d_k3_s1_p1", "conv_transpose2d_k3_s3_p1_op2",
        "batch_norm_train", "instance_norm_affine", "instance_norm_plain", "relu", "leaky_relu", "silu", "relu6", "sigmoid", "softmax",
        "prelu_channels", "prelu_shared", "max_pool2d_k2", "max_pool2d_k3_s2_p1_ceil", "avg_pool2d_k3_s2_p1",
        "avg_pool2d_k2_ceil_exclude", "upsample_nearest_x2", "upsample_nearest_size", "upsample_bilinear_aligned",
        "upsample_bilinear_x2", "upsample_bilinear_size", "pad_constant", "pad_replicate", "pad_reflect", "center_crop",
        "add", "concat", "global_avg_pool", "mul_channel", "mul_spatial",
    ]

    /// The fixture's op as a graph on its input `x`, and the op's parameters under the keys the graph reads.
    static func network(_ f: Fixture) throws -> (Graph, [(String, Parameter)]) {
        let x = try f.tensor("x")
        let b = GraphBuilder(inputShape: x.shape)
        let op = try f.string("op")
        var parameters: [(String, Parameter)] = []
        func parameter(_ name: String, trainable: Bool = true) throws -> String {
            parameters.append(("op." + name, Parameter(try f.tensor(name), requiresGrad: trainable)))
            return "op." + name
        }
        var y: Graph.Value
        switch op {
        case "conv2d":
            let bias = try f.int("bias") == 1 ? try parameter("bias") : nil
            var attributes = Conv2dAttributes(
                weight: try parameter("weight"), bias: bias, outputChannels: try f.int("out_channels"), kernel: try f.int("kernel"),
                stride: try f.int("stride"), padding: try f.int("padding"), dilation: try f.int("dilation"), groups: try f.int("groups"))
            if f.hasOption("padding_after") {  // TensorFlow's "same" padding: more after the map than before
                let (before, after) = (try f.int("padding"), try f.int("padding_after"))
                attributes.padding = [before, after, before, after]
            }
            y = try b.conv2d(b.input, attributes, name: "op")
            if f.hasOption("activation") {  // a ReLU6 after it: two nodes, fused into one with passes on
                guard try f.string("activation") == "relu6" else { throw FixtureError("unknown activation \(try f.string("activation"))") }
                y = try b.relu6(y, name: "act")
            }
        case "conv_transpose2d":
            let bias = try f.int("bias") == 1 ? try parameter("bias") : nil
            y = try b.convTranspose2d(b.input, ConvTranspose2dAttributes(
                weight: try parameter("weight"), bias: bias, outputChannels: try f.int("out_channels"), kernel: try f.int("kernel"),
                stride: try f.int("stride"), padding: try f.int("padding"), outputPadding: try f.int("output_padding")), name: "op")
        case "batch_norm":
            (_, _) = (try parameter("weight"), try parameter("bias"))
            (_, _) = (try parameter("running_mean", trainable: false), try parameter("running_var", trainable: false))
            parameters.append(("op.num_batches_tracked", Parameter(Tensor(shape: []), requiresGrad: false, isInteger: true)))
            y = try b.batchNorm(b.input, BatchNormAttributes(prefix: "op."), name: "op")
        case "instance_norm":
            if try f.int("affine") == 1 { (_, _) = (try parameter("weight"), try parameter("bias")) }
            y = try b.instanceNorm(b.input, InstanceNormAttributes(affinePrefix: try f.int("affine") == 1 ? "op." : nil), name: "op")
        case "relu": y = try b.relu(b.input, name: "op")
        case "leaky_relu": y = try b.leakyReLU(b.input, slope: Float(try f.string("slope"))!, name: "op")
        case "silu": y = try b.silu(b.input, name: "op")
        case "relu6": y = try b.relu6(b.input, name: "op")
        case "sigmoid": y = try b.sigmoid(b.input, name: "op")
        case "softmax": y = try b.softmax(b.input, name: "op")
        case "prelu": y = try b.prelu(b.input, weight: try parameter("weight"), name: "op")
        case "max_pool2d", "avg_pool2d":
            let pool = PoolAttributes(kernel: try f.int("kernel"), stride: try f.int("stride"), padding: try f.int("padding"),
                                      ceilMode: try f.int("ceil") == 1, countIncludesPadding: try f.int("count_include_pad") == 1)
            y = op == "max_pool2d" ? try b.maxPool(b.input, pool, name: "op") : try b.avgPool(b.input, pool, name: "op")
        case "upsample":
            let mode: UpsampleAttributes.Mode = try f.string("mode") == "nearest" ? .nearest : .bilinear(alignCorners: try f.int("align_corners") == 1)
            y = try b.upsample(b.input, size: [try f.int("height"), try f.int("width")], mode: mode, name: "op")
        case "pad":
            let mode: PadAttributes.Mode = switch try f.string("mode") {
            case "replicate": .replicate
            case "reflect": .reflect
            default: .zeros
            }
            y = try b.pad(b.input, PadAttributes(top: try f.int("top"), bottom: try f.int("bottom"), left: try f.int("left"),
                                                 right: try f.int("right"), mode: mode), name: "op")
        case "center_crop": y = try b.centerCrop(b.input, height: try f.int("height"), width: try f.int("width"), name: "op")
        case "add": y = try b.add(b.input, b.input, name: "op")
        case "concat": y = try b.concat([b.input, b.input], name: "op")
        case "adaptive_avg_pool2d": y = try b.globalAvgPool(b.input, name: "op")
        case "mul":
            let gate = try f.string("gate") == "channel"
                ? try b.globalAvgPool(b.input, name: "gate")
                : try b.conv2d(b.input, Conv2dAttributes(weight: try parameter("weight"), outputChannels: 1, kernel: 1), name: "gate")
            y = try b.multiply(b.input, gate, name: "op")
        default: throw FixtureError("unknown op \(op)")
        }
        return (b.graph(output: y), parameters)
    }

    @Test("output, input gradient and parameter gradients", arguments: fixtures)
    func op(name: String) throws {
        let f = try Fixture("graph/" + name)
        for passes in [Set<Pass>(), Set(Pass.allCases)] {
            let label = "\(name), \(passes.isEmpty ? "passes off" : "passes on")"
            let (graph, parameters) = try Self.network(f)
            let network = try CompiledNetwork(graph: graph, parameters: parameters, training: true, passes: passes, inputGradient: true)
            let y = try network.forward(try f.tensor("x"))
            expectClose(y, try f.tensor("y"), rtol: 1e-4, atol: 1e-5, label + " y")
            try network.backward(try f.tensor("dy"))
            expectClose(try #require(network.inputGradient, "\(label): no input gradient"), try f.tensor("dx"), rtol: 1e-3, atol: 1e-4,
                        label + " dx")
            for (key, parameter) in parameters {
                let name = String(key.dropFirst(3))
                if parameter.requiresGrad {
                    expectClose(parameter.grad, try f.tensor("d" + name), rtol: 1e-3, atol: 1e-4, "\(label) d\(name)")
                } else if f.has(name + "_after") {
                    expectClose(parameter.value, try f.tensor(name + "_after"), rtol: 1e-4, atol: 1e-5, "\(label) \(name) after")
                }
            }
        }
    }

    /// Eval-mode batch norm (running statistics) and instance norm (its own statistics in eval mode too); a kernel-3
    /// stride-2 transposed convolution, which fp32 inference runs as a 2x2 convolution and depth to space (6 output
    /// channels) or as four phase convolutions and an interleave (16); a stride-3 one whose output padding passes its
    /// padding (oneDNN's deconvolution with a negative trailing padding).
    @Test("inference output", arguments: ["batch_norm_eval", "instance_norm_affine", "conv2d_g2", "upsample_bilinear_size", "pad_reflect",
                                          "conv_transpose2d_k3_s2_p1_op1", "conv_transpose2d_k3_s2_p1_op1_c16",
                                          "conv_transpose2d_k3_s3_p1_op2"])
    func inference(name: String) throws {
        let f = try Fixture("graph/" + name)
        for passes in [Set<Pass>(), Set(Pass.allCases)] {
            let (graph, parameters) = try Self.network(f)
            let network = try CompiledNetwork(graph: graph, parameters: parameters, training: false, passes: passes)
            expectClose(try network.forward(try f.tensor("x")), try f.tensor("y"), rtol: 1e-4, atol: 1e-5,
                        "\(name), \(passes.isEmpty ? "passes off" : "passes on")")
        }
    }
}
