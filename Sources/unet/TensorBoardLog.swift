import Datasets
import Foundation
import ImageIO
import Reports
import TensorBoard
import Workflows

/// `unet train --tensorboard`: the run in TensorBoard, beside `metrics.jsonl`. Every scalar the log has (`train/loss`,
/// `train/learning_rate`, `train/images_per_second`; `validation/loss`, `validation/dice`, `validation/miou`,
/// `validation/pixel_accuracy`, `validation/dice/class_<i>`, `validation/iou/class_<i>`), the first validation images
/// with their predicted classes tinted (`validation/overlay/<file>`, at most `overlayLimit` pixels a side) after
/// every validation, and the run's command line and settings as text (`configuration`). A write that fails (a full
/// disk) is reported once and ends the TensorBoard log, not the training.
final class TensorBoardLog {
    static let overlayCount = 4
    static let overlayLimit = 1024
    let writer: SummaryWriter
    private let report: (String) -> Void
    private var failed = false

    /// A new events file in `directory`; `startStep` for a resumed run (the first step it will log).
    init(directory: String, startStep: Int?, configuration: String, report: @escaping (String) -> Void) throws {
        writer = try SummaryWriter(logDirectory: directory, startStep: startStep)
        self.report = report
        record { try writer.addText("configuration", configuration, step: startStep ?? 0) }
    }

    func handle(_ event: TrainingEvent) {
        switch event {
        case .step(let r):
            record {
                try writer.addScalar("train/loss", Double(r.loss), step: r.step)
                try writer.addScalar("train/learning_rate", Double(r.learningRate), step: r.step)
                try writer.addScalar("train/images_per_second", r.imagesPerSecond, step: r.step)
            }
        case .validation(let v):
            record {
                try writer.addScalar("validation/loss", Double(v.loss), step: v.step)
                try writer.addScalar("validation/dice", v.dice, step: v.step)
                try writer.addScalar("validation/miou", v.meanIoU, step: v.step)
                try writer.addScalar("validation/pixel_accuracy", v.pixelAccuracy, step: v.step)
                for (i, dice) in v.perClassDice.enumerated() {
                    if let dice { try writer.addScalar("validation/dice/class_\(i)", dice, step: v.step) }
                }
                for (i, iou) in v.perClassIoU.enumerated() {
                    if let iou { try writer.addScalar("validation/iou/class_\(i)", iou, step: v.step) }
                }
            }
        case .validationSamples(let step, let samples):
            record {
                for sample in samples {
                    let canvas = Overlay.blend(Self.canvas(sample.image), classes: sample.classes)
                    let image = try Self.reduced(canvas).image()
                    let png = try ImageWriter.encodePNG(image, path: sample.path)
                    let name = (sample.path as NSString).lastPathComponent
                    try writer.addImage("validation/overlay/\(name)", png: png, width: image.width, height: image.height,
                                        channels: image.channels, step: step)
                }
            }
        case .checkpoint:
            break
        }
    }

    private func record(_ body: () throws -> Void) {
        guard !failed else { return }
        do {
            try body()
        } catch {
            failed = true
            report("warning: TensorBoard log stopped: \(error)")
        }
    }

    /// The image as 8-bit RGB: the first three channels, or the first one as gray.
    private static func canvas(_ image: SampleImage) -> Canvas {
        var canvas = Canvas(width: image.width, height: image.height)
        let plane = image.width * image.height
        func byte(_ channel: Int, _ pixel: Int) -> UInt8 { UInt8(max(0, min(255, (image.values[channel * plane + pixel] * 255).rounded()))) }
        for y in 0..<image.height {
            for x in 0..<image.width {
                let p = y * image.width + x
                canvas.set(x, y, image.channels >= 3 ? (byte(0, p), byte(1, p), byte(2, p)) : (byte(0, p), byte(0, p), byte(0, p)))
            }
        }
        return canvas
    }

    /// Every k-th pixel, for the smallest k that brings both sides to at most `overlayLimit`.
    private static func reduced(_ canvas: Canvas) -> Canvas {
        let k = (max(canvas.width, canvas.height) + overlayLimit - 1) / overlayLimit
        guard k > 1 else { return canvas }
        var out = Canvas(width: (canvas.width + k - 1) / k, height: (canvas.height + k - 1) / k)
        for y in 0..<out.height {
            for x in 0..<out.width {
                let base = ((y * k) * canvas.width + x * k) * 3
                out.set(x, y, (canvas.pixels[base], canvas.pixels[base + 1], canvas.pixels[base + 2]))
            }
        }
        return out
    }
}
