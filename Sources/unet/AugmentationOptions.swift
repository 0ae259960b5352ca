import ArgumentParser
import Datasets

/// Random augmentation of training batches (`unet train`); every flag off by default.
struct AugmentationOptions: ParsableArguments {
    @Option(help: "Square random crop size (batches of equal sizes).") var crop: Int?
    @Option(help: ArgumentHelp("The share of crops centred on a foreground pixel (nnU-Net: 0.33).", valueName: "share"))
    var foregroundCrops: Float = 0
    @Flag(help: "Random flips.") var flips = false
    @Flag(help: "Random 90° rotations.") var rotate90 = false
    @Option(help: "Random rotation in ± degrees.") var augmentRotation: Float = 0
    @Option(help: "Random scaling in ± fraction.") var augmentScale: Float = 0
    @Option(help: "Random brightness offset in ± value.") var brightness: Float = 0
    @Option(help: "Random contrast factor in 1 ± value.") var contrast: Float = 0
    @Option(help: "Random gamma in 1 ± value.") var gamma: Float = 0
    @Option(help: "Gaussian noise standard deviation.") var noise: Float = 0
    @Option(help: "Random blur strength (0: off).") var blur: Float = 0

    func validate() throws {
        try FlagRange.check(crop, "--crop", in: 16...8192)
        try FlagRange.check(foregroundCrops, "--foreground-crops", in: 0...1)
        try FlagRange.check(augmentRotation, "--augment-rotation", in: 0...180)
        try FlagRange.below(augmentScale, "--augment-scale", 1)
        try FlagRange.check(brightness, "--brightness", in: 0...1)
        try FlagRange.check(contrast, "--contrast", in: 0...1)
        try FlagRange.below(gamma, "--gamma", 1)
        try FlagRange.check(noise, "--noise", in: 0...1)
        try FlagRange.check(blur, "--blur", in: 0...10)
    }

    /// The augmentation the flags describe.
    func augmentation() -> Augmentation {
        var a = Augmentation()
        (a.crop, a.foregroundCrops, a.flips, a.rotate90) = (crop, foregroundCrops, flips, rotate90)
        (a.rotationDegrees, a.scaleJitter) = (augmentRotation, augmentScale)
        (a.brightness, a.contrast, a.gamma) = (brightness, contrast, gamma)
        (a.noise, a.blur) = (noise, blur)
        return a
    }
}
