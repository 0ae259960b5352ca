import ArgumentParser
import DNNL
import Execution
import Foundation
import Graph
import Inference
import Models
import Tensors
import Training

/// `unet bench`: the benchmark reference's cases (`../shared/bench/pytorch_unet.py`) with the same options
/// and one JSON line per case in the same schema, so that `scripts/bench_compare.py` can run both side by side.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time U-Net inference and training steps; one JSON line per case (the PyTorch reference's schema).",
        discussion: """
            A training step is forward + Dice + cross-entropy (binary cross-entropy for one class) + backward + \
            Adam, as in the reference (each parameter's Adam update runs as soon as backward has its gradient, \
            as `unet train` does without --clip). Timing: --warmup untimed steps, then at least --steps timed steps and \
            --min-time seconds; ms_per_batch_median is the median step. peak_rss_mb is the process's peak \
            resident memory during the case.
            """)

    enum Mode: String, ExpressibleByArgument, CaseIterable { case infer, train, both }

    /// A case's arithmetic: float32, mixed bf16, or int8 convolutions calibrated on the case's own input (`unet quantize`'s
    /// default rule).
    enum Arithmetic: String, ExpressibleByArgument, CaseIterable {
        case fp32, bf16, int8
        var precision: Precision { self == .bf16 ? .bf16 : .fp32 }
    }

    @Option(help: "infer, train or both.") var mode: Mode = .both
    @Option(help: ArgumentHelp("The network: milesial's classic U-Net, smp's Unet (default depth and decoder), MONAI's BasicUNet "
        + "(MONAI's defaults), MONAI's UNet (the tutorials': channels 16-256, two residual units, batch norm) or nnU-Net's "
        + "PlainConvUNet (its 2-D plan's 6 stages, 32-512 features).", valueName: "unet|smp-unet|basic-unet|monai-unet|nnunet"))
    var arch: ArchitectureOptions.Family = .unet
    @Option(help: ArgumentHelp("smp-unet: the encoder, smp's encoder_name (a torchvision ResNet or ResNeXt, an SE-ResNet "
        + "or SE-ResNeXt, an efficientnet-pytorch or timm EfficientNet, or mobilenet_v2).", valueName: "encoder"))
    var encoder: SMPEncoder = .resnet(.resnet34)
    @Option(help: ArgumentHelp("smp-unet: decoder attention (default none).", valueName: "scse"))
    var decoderAttention: SMPUNetConfiguration.DecoderAttention?
    @Option(help: "Input channels.") var inChannels = 3
    @Option(help: "Classes.") var classes = 2
    @Option(help: "Base width.") var base = 64
    @Flag(help: "Bilinear up-sampling instead of ConvTranspose2d.") var bilinear = false
    @Option(parsing: .upToNextOption, help: "Batch sizes.") var batch: [Int] = [1]
    @Option(parsing: .upToNextOption, help: "Image sizes (H = W).") var size: [Int] = [256]
    @Option(parsing: .upToNextOption, help: ArgumentHelp(
        "fp32, bf16 (mixed precision, the same path as --amp) and/or int8 (inference: convolutions quantized as unet quantize does, calibrated on the input).",
        valueName: "fp32|bf16|int8"))
    var dtype: [Arithmetic] = [.fp32]
    @Option(help: "Minimum timed steps.") var steps = 10
    @Option(help: "Untimed warm-up steps.") var warmup = 3
    @Option(help: "Minimum timed seconds per case.") var minTime: Double = 5
    @Flag(help: "Also print the convolution ceiling: each convolution timed alone, against the whole forward pass.")
    var ceiling = false
    @Flag(help: TrainCommand.keepActivationsHelp) var keepActivations = false
    @OptionGroup var runtime: RuntimeOptions
    @Flag(help: "Print each case's memory plan (every buffer: shape, type, layout, first writer, last reader, offset in the arena) instead of timing it.")
    var memoryPlan = false

    func validate() throws {
        for value in batch { try FlagRange.check(value, "--batch", in: 1...1024) }
        for value in size { try FlagRange.check(value, "--size", in: 16...8192) }
        try FlagRange.check(inChannels, "--in-channels", in: 1...1024)
        try FlagRange.check(classes, "--classes", in: 1...1024)
        try FlagRange.check(base, "--base", in: 1...512)
        try FlagRange.check(steps, "--steps", in: 1...1_000_000)
        try FlagRange.check(warmup, "--warmup", in: 0...1_000_000)
        try FlagRange.check(minTime, "--min-time", in: 0...86_400)
        if dtype.contains(.int8) && mode != .infer { throw ValidationError("--dtype int8 times inference only: add --mode infer") }
    }

    func run() throws {
        runtime.apply()
        let modes: [Mode] = mode == .both ? [.infer, .train] : [mode]
        for mode in modes {
            for size in size {
                for batch in batch {
                    for precision in dtype {
                        let result = try CLIError.reporting { try runCase(mode, size: size, batch: batch, precision) }
                        Console.out(result)
                    }
                }
            }
        }
    }

    private func runCase(_ mode: Mode, size: Int, batch: Int, _ arithmetic: Arithmetic) throws -> String {
        let precision = arithmetic.precision
        ProcessMemory.resetPeak()
        var generator = SeededGenerator(seed: 0)
        let architecture: Architecture = switch arch {
        case .unet: .unet(.milesial(inputChannels: inChannels, classes: classes, bilinear: bilinear, baseWidth: base))
        case .smpUNet:
            // smp builds its EfficientNets with stochastic depth 0.2, which PyTorch's training step runs too.
            .smpUNet(SMPUNetConfiguration(encoder: encoder, inputChannels: inChannels, classes: classes, decoderAttention: decoderAttention,
                                          dropPath: mode == .train ? encoder.smpDropPath : nil))
        case .basicUNet: .basicUNet(BasicUNetConfiguration(inputChannels: inChannels, classes: classes))
        case .monaiUNet: .monaiUNet(MONAIUNetConfiguration(inputChannels: inChannels, classes: classes))
        case .nnUNet: .plainConvUNet(.nnUNetDefault(stages: 6, inputChannels: inChannels, classes: classes))
        }
        try architecture.checkMemory(batch: batch, height: size, width: size, training: mode == .train)
        let model = try architecture.makeModel(generator: &generator)
        let x = Tensor.normal(shape: [batch, inChannels, size, size], using: &generator)
        let targets = (0..<(batch * size * size)).map { _ in Int32(generator.next() % UInt64(max(classes, 2))) }
        let training = mode == .train
        let gflop = try model.graph(inputShape: [1, inChannels, size, size]).forwardFLOPs / 1e9 * (training ? 3 : 1)
        training ? model.train() : model.eval()
        var quantization: Quantization?
        if arithmetic == .int8 {
            let calibrator = Int8Calibrator(rule: .percentile(Int8Calibrator.defaultPercentile))
            do {  // the calibrating network is gone before the peak is reset: the case's memory, not its calibration's
                let observing = try CompiledUNet(model, inputShape: x.shape, training: false, observingConvolutionInputs: calibrator.observe)
                try calibrator.calibrate { _ in _ = try observing.forward(x) }
            }
            quantization = calibrator.quantization(images: batch)
            ProcessMemory.resetPeak()
        }
        if memoryPlan {
            let network = try CompiledUNet(model, inputShape: x.shape, precision: precision, training: training,
                                           recomputesConvolutions: keepActivations ? false : nil, quantization: quantization)
            return "\(mode.rawValue) \(arch == .unet ? "base \(base)" : architecture.description), \(classes) classes, \(size)x\(size), batch \(batch), \(arithmetic.rawValue):\n"
                + network.network.memoryPlan.table
        }
        let clock = ContinuousClock()
        var compiled: CompiledUNet?
        var optimizer: Adam?
        let step: () throws -> Void = {
            if compiled == nil {
                compiled = try CompiledUNet(model, inputShape: x.shape, precision: precision, training: training,
                                            retainModelWeights: training, recomputesConvolutions: keepActivations ? false : nil,
                                            quantization: quantization)
                optimizer = training ? Adam(parameters: model.trainableParameters, learningRate: 1e-4) : nil
            }
            let logits = try compiled!.forward(x)
            if training {
                let (_, gradient) = try SegmentationLoss.diceCrossEntropy(logits: logits, targets: targets)
                try optimizer!.step { try compiled!.backward(gradient, applying: $0) }
            }
        }
        let first = try seconds(clock) { try step() }
        for _ in 0..<max(warmup - 1, 0) { try step() }
        var times: [Double] = []
        let start = clock.now
        while times.count < steps || seconds(clock.now - start) < minTime {
            times.append(try seconds(clock) { try step() })
        }
        let median = times.sorted()[times.count / 2]
        var fields: [(String, Any)] = [
            ("framework", "unet"), ("version", "0.1"), ("onednn", Threads.oneDNNVersion), ("mode", mode.rawValue),
            ("batch", batch), ("size", size), ("base", base), ("classes", classes), ("in_channels", inChannels),
            ("bilinear", bilinear), ("arch", arch.rawValue)] + (arch == .smpUNet ? [("encoder", encoder.rawValue)] : []) + [
            ("dtype", arithmetic.rawValue), ("threads", Threads.count), ("steps", times.count),
            ("images_per_s", round(Double(batch) / median, 3)), ("ms_per_batch_median", round(1e3 * median, 2)),
            ("ms_per_batch_min", round(1e3 * times.min()!, 2)), ("first_iter_s", round(first, 2)),
            ("gflop_per_image", round(gflop, 3)), ("achieved_gflops", round(gflop * Double(batch) / median, 1)),
            ("peak_rss_mb", round(ProcessMemory.peakMegabytes(), 1)),
        ]
        if ceiling, let compiled, !training {
            let convolutions = try compiled.convolutionSeconds()
            fields += [("convolution_ms", round(1e3 * convolutions, 2)),
                       ("fraction_of_convolution_ceiling", round(convolutions / median, 3))]
        }
        return json(fields)
    }

    private func seconds(_ clock: ContinuousClock, _ body: () throws -> Void) throws -> Double {
        let start = clock.now
        try body()
        return seconds(clock.now - start)
    }

    private func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }

    private func round(_ value: Double, _ digits: Int) -> Double {
        let scale = pow(10, Double(digits))
        return (value * scale).rounded() / scale
    }

    /// A one-line JSON object with keys in the given order (the reference's field order).
    private func json(_ fields: [(String, Any)]) -> String {
        "{" + fields.map { key, value in
            let encoded: String =
                switch value {
                case let text as String: "\"\(text)\""
                case let flag as Bool: flag ? "true" : "false"
                default: "\(value)"
                }
            return "\"\(key)\": \(encoded)"
        }.joined(separator: ", ") + "}"
    }
}

