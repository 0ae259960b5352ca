import Graph

/// Post-training static quantization's calibration: the input range of each convolution an int8 network runs in
/// int8, chosen from the float32 network's activations on calibration images.
///
///     let calibrator = Int8Calibrator(rule: .percentile(99.99))
///     predictor.convolutionInputObserver = calibrator.observe
///     try calibrator.calibrate { _ in for image in images { _ = try predictor.logits(image) } }
///     let table = calibrator.quantization(images: images.count)
///
/// Rules: `max` keeps each input's largest magnitude (nothing clipped; one outlier widens every step);
/// `percentile(p)` keeps the magnitude below which p percent of the input's elements lie (zeros included), found in
/// a second pass as a histogram of 2048 bins up to the first pass's largest magnitude, and clips the rest. An input
/// whose negative values stay above `-limit/64` (none, after a ReLU; a few small ones, after nnU-Net's LeakyReLU of
/// slope 0.01) is quantized unsigned: 8 bits for `0...limit`, negative values as 0, which costs less than the bit
/// a signed range would spend on them.
public final class Int8Calibrator {
    public enum Rule: Sendable, Equatable {
        case max
        case percentile(Double)
    }

    public let rule: Rule
    /// The passes over the calibration images the rule needs: 1 for `max`, 2 for `percentile`.
    public var passes: Int { rule == .max ? 1 : 2 }
    /// The pass the observed values belong to (0 first).
    private var pass = 0
    private static let bins = 2048
    private var statistics: [String: Statistics] = [:]

    private struct Statistics {
        var minimum: Float = 0
        var largest: Float = 0
        var histogram: [Int] = []
    }

    public init(rule: Rule) { self.rule = rule }

    /// Calls `run` once per pass the rule needs, with the pass's index (0 first); `run` sends every calibration input
    /// through a network that hands its convolutions' inputs to `observe`.
    public func calibrate(_ run: (_ pass: Int) throws -> Void) rethrows {
        for pass in 0..<passes {
            self.pass = pass
            try run(pass)
        }
    }

    /// Takes one forward pass's input of `convolution` (a `ConvolutionInputObserver`).
    public func observe(_ convolution: String, _ values: UnsafeBufferPointer<Float>) {
        var s = statistics[convolution] ?? Statistics()
        if pass == 0 {
            var (low, high): (Float, Float) = (s.minimum, s.largest)
            for v in values where v.isFinite {
                low = Swift.min(low, v)
                high = Swift.max(high, abs(v))
            }
            (s.minimum, s.largest) = (low, high)
        } else if s.largest > 0 {
            if s.histogram.isEmpty { s.histogram = Array(repeating: 0, count: Self.bins) }
            let perBin = Float(Self.bins) / s.largest
            s.histogram.withUnsafeMutableBufferPointer { h in
                for v in values where v.isFinite { h[Swift.min(Int(abs(v) * perBin), Self.bins - 1)] += 1 }
            }
        }
        statistics[convolution] = s
    }

    /// The table for the convolutions observed, from `images` calibration images.
    public func quantization(images: Int) -> Quantization {
        var inputs: [String: Quantization.InputRange] = [:]
        for (name, s) in statistics {
            var limit = s.largest
            if case .percentile(let p) = rule, !s.histogram.isEmpty {
                let total = s.histogram.reduce(0, +)
                let wanted = Int((Double(total) * p / 100).rounded(.up))
                var (count, bin) = (0, 0)
                while bin < Self.bins - 1 && count + s.histogram[bin] < wanted {
                    count += s.histogram[bin]
                    bin += 1
                }
                limit = s.largest * Float(bin + 1) / Float(Self.bins)
            }
            inputs[name] = Quantization.InputRange(limit: Swift.max(limit, 1e-6), signed: s.minimum < -limit / 64)
        }
        return Quantization(rule: ruleDescription, images: images, inputs: inputs)
    }

    private var ruleDescription: String {
        switch rule {
        case .max: "max"
        case .percentile(let p): "percentile \(p)"
        }
    }
}
