// UNetKit: the library in one import. Each target keeps one job (see the README's architecture section); an app
// that segments, trains or reads checkpoints writes `import UNetKit` and gets them all.
@_exported import Checkpoints
@_exported import DNNL
@_exported import Datasets
@_exported import Execution
@_exported import Files
@_exported import Graph
@_exported import ImageIO
@_exported import Inference
@_exported import Kernels
@_exported import Evaluation
@_exported import Models
@_exported import NN
@_exported import Reports
@_exported import Tensors
@_exported import Training
@_exported import Workflows
