// Using unet's libraries from Swift: segment one image with a model file, as `unet predict` does.
//
//     swift run segment-image MODEL IMAGE OUTPUT.png
//
// MODEL is a native .safetensors file or a PyTorch .pth (milesial, labml and tutorial layouts are detected).
// OUTPUT.png receives the mask in VOC colours; the pixel count of each class is printed.
import Foundation
import UNetKit

let arguments = CommandLine.arguments
guard arguments.count == 4 else {
    FileHandle.standardError.write(Data("usage: segment-image MODEL IMAGE OUTPUT.png\n".utf8))
    exit(2)
}
do {
    // 1. The model: architecture detected from the keys, weights converted to float32.
    let loaded = try ModelFile.load(path: arguments[1])
    let classes = loaded.model.architecture.classes

    // 2. A segmenter: whole-image prediction at the image's own size, pixels scaled to [0, 1] (the file's own
    //    normalisation and nnU-Net's crop if it records them).
    let preprocessing = ImageSegmenter.Preprocessing(metadata: loaded.metadata, scale: 1)
    let segmenter = try ImageSegmenter(model: loaded.model, options: PredictionOptions(), preprocessing: preprocessing)

    // 3. Segment, then write the classes as a colour mask.
    let result = try segmenter.segment(path: arguments[2])
    let mask = try MaskRenderer.image(result.classes, width: result.image.width, height: result.image.height, format: .palette,
                                  table: nil, modelClasses: classes)
    try ImageWriter.writePNG(mask, to: arguments[3])
    for c in 0..<max(classes, 2) {
        print("class \(c): \(result.classes.filter { $0 == c }.count) pixels")
    }
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}
