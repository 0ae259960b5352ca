import ArgumentParser
import Datasets
import Files
import Foundation

/// The images `unet predict` reads and the files it writes for each: milesial's naming (`<stem>_OUT.png` beside
/// the input) unless `--output` names files (one per input) or a folder (`<folder>/<stem>.png`, which
/// `unet evaluate --predictions` pairs with ground truth by stem).
///
/// Every path is settled before anything is written, and refused when an output would replace an input
/// image or the model (the same file by any name: symbolic links and hard links included), when two inputs
/// would write the same file (`a.png` and `a.jpg`, or `d1/a.png` and `d2/a.png`, into one folder), or when the
/// output folder is an input folder.
struct PredictionTargets {
    /// What is written for an image.
    enum Kind: Hashable { case mask, overlay, sideBySide, probabilities }

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

        func path(_ kind: Kind) -> String {
            switch kind {
            case .mask: mask
            case .overlay: overlay
            case .sideBySide: sideBySide
            case .probabilities: probabilities
            }
        }
    }

    let targets: [Target]
    /// Inputs that do not exist, as one-line problems.
    let missing: [String]

    /// Suffixes of what `unet predict` writes, left out when a folder is expanded.
    static let outputSuffixes = ["_OUT", "_overlay", "_side"]

    /// - Parameters:
    ///   - model: the model file, which no output may replace either.
    ///   - writes: the files written for each image.
    /// - Throws: `CLIError` when --output names files but not one per input, when an output would replace
    ///   an input or the model or another output, or when the output folder cannot be made.
    init(inputs: [String], outputs: [String], model: String, writes: Set<Kind>) throws {
        var images: [String] = []
        var missing: [String] = []
        var inputFolders: [String] = []
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
            inputFolders.append(input)
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
        var folder: String?
        if outputs.isEmpty {
            targets = images.map { Target(input: $0, mask: ((($0 as NSString).deletingPathExtension) + "_OUT.png")) }
        } else {
            var isDirectory: ObjCBool = false
            let isFolder = outputs.count == 1
                && ((FileManager.default.fileExists(atPath: outputs[0], isDirectory: &isDirectory) && isDirectory.boolValue)
                    || outputs[0].hasSuffix("/") || (outputs[0] as NSString).pathExtension.isEmpty)
            if isFolder {
                folder = outputs[0]
                targets = images.map { Target(input: $0, mask: (outputs[0] as NSString).appendingPathComponent(stem($0) + ".png")) }
            } else {
                guard outputs.count == images.count else {
                    throw CLIError(description: "--output names \(outputs.count) file(s) for \(images.count) image(s); give one per image or a folder")
                }
                targets = zip(images, outputs).map { Target(input: $0, mask: $1) }
            }
        }
        try Self.checkCollisions(targets, images: images, model: model, writes: writes, folder: folder,
                                 inputFolders: inputFolders)
        let folders = Set(targets.map { ($0.mask as NSString).deletingLastPathComponent }.filter { !$0.isEmpty })
        for folder in folders.sorted() {
            do { try FileContents.createFolder(folder) } catch { throw CLIError(description: "--output: \(error)") }
        }
    }

    /// Refuses any output that is an input, the model, or another image's output, and an output folder that
    /// is an input folder.
    private static func checkCollisions(_ targets: [Target], images: [String], model: String, writes: Set<Kind>,
                                        folder: String?, inputFolders: [String]) throws {
        let read = images + [model]
        var readPaths: [String: String] = [:]
        var readFiles: [FileIdentity: String] = [:]
        for path in read {
            readPaths[FileIdentity.canonicalPath(path)] = path
            if let identity = FileIdentity(path) { readFiles[identity] = path }
        }
        if let folder {
            let canonical = FileIdentity.canonicalPath(folder)
            if let input = inputFolders.first(where: { FileIdentity.canonicalPath($0) == canonical }) {
                throw CLIError(description: "--output: \(folder) is the input folder \(input); masks would replace or mix with "
                    + "the images there: choose another folder")
            }
        }
        var written: [String: String] = [:]
        for target in targets {
            for kind in [Kind.mask, .overlay, .sideBySide, .probabilities] where writes.contains(kind) {
                let output = target.path(kind)
                let canonical = FileIdentity.canonicalPath(output)
                if let input = readPaths[canonical] ?? FileIdentity(output).flatMap({ readFiles[$0] }) {
                    throw CLIError(description: "--output: \(output) would replace \(input == model ? "the model" : "the input") "
                        + "\(input); nothing was written")
                }
                if let other = written[canonical] {
                    throw CLIError(description: "\(other) and \(target.input) would both write \(output); give --output one "
                        + "file per image, or rename one of them; nothing was written")
                }
                written[canonical] = target.input
            }
        }
    }
}
