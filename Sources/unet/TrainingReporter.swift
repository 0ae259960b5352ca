import Foundation
import Workflows

/// Shows a `Trainer`'s progress: the live bar (epoch, step, loss, learning rate, images/s, ETA), a line per
/// validation and per new best checkpoint; stops it on SIGINT/SIGTERM.
enum TrainingReporter {
    /// `also` receives every event after the display (the TensorBoard log).
    static func attach(_ trainer: Trainer, to progress: ProgressDisplay, also: ((TrainingEvent) -> Void)? = nil) {
        InterruptFlag.install()
        trainer.shouldStop = { InterruptFlag.isRaised }
        let firstStep = trainer.step
        trainer.onEvent = { event in
            switch event {
            case .step(let r):
                let remaining = r.elapsed / Double(max(r.step - firstStep, 1)) * Double(r.totalSteps - r.step)
                let time = r.secondsLeft.map { "time left " + durationText(max($0, 0)) } ?? "ETA " + durationText(remaining)
                progress.update(fraction: Double(r.step) / Double(r.totalSteps), label: "epoch \(r.epoch)",
                                details: String(format: "step %d/%d loss %.4f lr %.2e %.1f img/s %@", r.step, r.totalSteps,
                                                r.loss, r.learningRate, r.imagesPerSecond, time))
            case .validation(let v):
                let perClass = v.perClassDice.map { $0.map { String(format: "%.4f", $0) } ?? "-" }.joined(separator: " ")
                progress.message(String(format: "step %d: validation loss %.4f, Dice %.4f, mIoU %.4f, pixel accuracy %.4f, "
                                        + "Dice per class [%@]", v.step, v.loss, v.dice, v.meanIoU, v.pixelAccuracy, perClass))
            case .checkpoint(let path, let reason):
                if reason.hasPrefix("best ") { progress.message("saved \(path) (\(reason))") }
            case .validationSamples:
                break
            }
            also?(event)
        }
    }
}
