import Logging
import VigilStore

/// Removes the image files of face rows already deleted (and committed): a file that cannot be
/// removed is only disk, and the orphan sweep of `faces/` takes it later, so a failure is logged.
enum FaceImages {
    static func remove(_ uris: [String], media: any MediaStore, logger: Logger) {
        for uri in uris where media.exists(uri) {
            do { try media.remove(uri) } catch {
                logger.warning("a face image was not removed", metadata: ["uri": "\(uri)", "error": "\(error)"])
            }
        }
    }
}
