import Models
import Training
import Workflows

/// What `unet train`'s optimizer and loss flags take where they are left out: milesial's defaults, or nnU-Net's
/// trainer's for its networks (`of(_:)`).
struct TrainerDefaults {
    var optimizer: TrainingOptions.OptimizerKind
    var learningRate: Float
    var weightDecay: Float
    /// nil: by optimizer (RMSprop 0.999, the others 0.9).
    var momentum: Float?
    var nesterov: Bool
    var schedule: Schedule.Kind
    var clip: Float
    /// Whether the Dice term averages over the background (class 0) too.
    var diceIncludesBackground: Bool

    /// milesial/Pytorch-UNet's `train.py`.
    static let milesial = TrainerDefaults(optimizer: .rmsprop, learningRate: 1e-5, weightDecay: 1e-8, momentum: nil, nesterov: false,
                                          schedule: .plateau, clip: 1, diceIncludesBackground: true)
    /// nnU-Net's trainer (`nnUNetTrainer`): SGD at 1e-2 with Nesterov momentum 0.99, weight decay 3e-5, the poly
    /// schedule (exponent 0.9), gradients clipped at norm 12, and its Dice + cross-entropy loss, whose Dice leaves the
    /// background out.
    static let nnUNet = TrainerDefaults(optimizer: .sgd, learningRate: 1e-2, weightDecay: 3e-5, momentum: 0.99, nesterov: true,
                                        schedule: .poly, clip: 12, diceIncludesBackground: false)

    /// The defaults of a run training `architecture`: nnU-Net's for its networks (`--arch nnunet`, or an nnU-Net model
    /// loaded or resumed), milesial's for the others.
    static func of(_ architecture: Architecture) -> TrainerDefaults {
        switch architecture {
        case .plainConvUNet, .residualEncoderUNet: .nnUNet
        case .unet, .smpUNet, .basicUNet, .monaiUNet: .milesial
        }
    }
}
