import Planning

/// `unet plan --json`'s object: the dataset's fingerprint and the recipe planned from it.
struct PlanDocument: Encodable {
    let fingerprint: DatasetFingerprint
    let recipe: Recipe
}
