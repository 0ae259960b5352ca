import ArgumentParser
import Datasets
import Foundation

/// The images `unet predict` reads and the files it writes for each: milesial's naming (`<stem>_OUT.png` beside
/// the input) unless `--output` names files (one per input) or a folder (`<folder>/<stem>.png`, which
/// `unet evaluate --predictions` pairs with ground truth by stem).
struct PredictionTargets {
    struct Target {
        let input: String
        let mask: String
        /// `<mask without extension>_overlay.png`.
        var overlay: String { base + "_overlay.png" }
        /// `<mask without extension>_side.png`.
        var sideBySide: String { base + "_side.png" }
        /// `<mask without extension>.npy`.
        var probabilities: String { base + ".npy" }
        private var base: String { (mask as NSString).deletingPathExtension }
    }

    let targets: [Target]
    /// Inputs that do not exist, as one-line problems.
    let missing: [String]

    /// Suffixes of what `unet predict` writes, left out when a folder is expanded.
    static let outputSuffixes = ["_OUT", "_overlay", "_side"]

    /// - Throws: `ValidationError` when --output names files but not one per input, or a folder cannot be made.
    init(inputs: [String], outputs: [String]) throws {
        var images: [String] = []
        var missing: [String] = []
        for input in inputs {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory) else {
                missing.append("\(input): no such file or folder")
                continue
            }
            guard isDirectory.boolValue else {
                images.append(input)
                continue
            }
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: input)) ?? []).sorted().filter { name in
                let stem = (name as NSString).deletingPathExtension
                return SampleDiscovery.imageExtensions.contains((name as NSString).pathExtension.lowercased())
                    && !name.hasPrefix(".") && !Self.outputSuffixes.contains { stem.hasSuffix($0) }
            }
            if names.isEmpty { missing.append("\(input): no images in the folder") }
            images += names.map { (input as NSString).appendingPathComponent($0) }
        }
        self.missing = missing
        func stem(_ path: String) -> String { ((path as NSString).lastPathComponent as NSString).deletingPathExtension }
        if outputs.isEmpty {
            targets = images.map { Target(input: $0, mask: ((($0 as NSString).deletingPathExtension) + "_OUT.png")) }
            return
        }
        var isDirectory: ObjCBool = false
        let folder = outputs.count == 1
            && ((FileManager.default.fileExists(atPath: outputs[0], isDirectory: &isDirectory) && isDirectory.boolValue)
                || outputs[0].hasSuffix("/") || (outputs[0] as NSString).pathExtension.isEmpty)
        if folder {
            do {
                try FileManager.default.createDirectory(atPath: outputs[0], withIntermediateDirectories: true)
            } catch {
                throw ValidationError("--output: cannot create the folder \(outputs[0])")
            }
            targets = images.map { Target(input: $0, mask: (outputs[0] as NSString).appendingPathComponent(stem($0) + ".png")) }
            return
        }
        guard outputs.count == images.count else {
            throw ValidationError("--output names \(outputs.count) file(s) for \(images.count) image(s); give one per image or a folder")
        }
        targets = zip(images, outputs).map { Target(input: $0, mask: $1) }
    }
}
