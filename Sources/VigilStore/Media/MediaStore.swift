import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Where frames and clips live. Rows name files by a storage URI (`file:staging/...`), never by
/// an absolute path, so the data folder can move.
public protocol MediaStore: Sendable {
    /// Writes `bytes` at `relativePath` and returns its URI: the file is either all there or absent,
    /// and its bytes are on disk. Its name is durable only after `syncFolders(of:)`, which callers
    /// storing many files call once for all of them.
    func writeFile(_ bytes: [UInt8], at relativePath: String) throws -> String
    /// Moves a file from outside the store (an FTP upload) to `relativePath`, durably, and returns
    /// its URI. A move, not a copy, where both are on one file system.
    func adopt(fileAt source: URL, at relativePath: String) throws -> String
    /// Gives the file at `uri` a second name, `relativePath`, durably: the same bytes under both
    /// (a hard link, never a copy that could diverge). Removing the old name completes a move.
    func link(_ uri: String, to relativePath: String) throws -> String
    /// Makes the names of files written with `writeFile` durable: one sync per folder.
    func syncFolders(of uris: some Collection<String>) throws
    func read(_ uri: String) throws -> [UInt8]
    func remove(_ uri: String) throws
    func exists(_ uri: String) -> Bool
    /// The URI a file at `relativePath` has (whether or not it exists).
    func uri(for relativePath: String) -> String
    /// Every file under `folder` (a top-level folder such as `staging`), with its size and time,
    /// unfinished temporary files included.
    func files(under folder: String) throws -> [StoredFile]
}

/// A file found in the media store.
public struct StoredFile: Sendable, Equatable {
    public var uri: String
    public var byteSize: Int64
    public var modified: Date
}

extension MediaStore {
    /// Writes one file durably, name and all.
    public func write(_ bytes: [UInt8], at relativePath: String) throws -> String {
        let uri = try writeFile(bytes, at: relativePath)
        try syncFolders(of: [uri])
        return uri
    }
}

/// Seed 004's layout under the data folder: `staging/<device>/<YYYY-MM-DD>/<capture>.jpg`,
/// `events/...`, `thumbs/...`.
public struct FileSystemMediaStore: MediaStore {
    public let root: URL
    static let scheme = "file:"

    private let rootPath: String

    public init(root: URL) {
        self.root = root.standardizedFileURL
        var rootPath = self.root.path
        while rootPath.count > 1 && rootPath.hasSuffix("/") { rootPath.removeLast() }
        self.rootPath = rootPath
    }

    /// Where an uploaded clip is kept: `clips/<device>/<YYYY-MM-DD>/<clip>.<ext>`.
    public static func clipPath(device: String, day: Date, clipId: UUID, fileExtension: String) -> String {
        "clips/\(safeComponent(device))/\(dayFolder(day))/\(clipId.uuidString.lowercased()).\(safeComponent(fileExtension.lowercased()))"
    }

    static func dayFolder(_ day: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day], from: day)
        return String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
    }

    /// The staging path of a capture, by seed 004.
    public static func stagingPath(device: String, day: Date, captureId: UUID) -> String {
        "staging/\(safeComponent(device))/\(dayFolder(day))/\(captureId.uuidString.lowercased()).jpg"
    }

    /// A device id as one safe path component: no separators, no dot-dot.
    static func safeComponent(_ text: String) -> String {
        let cleaned = String(text.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" }.prefix(100))
        return cleaned.isEmpty ? "_" : cleaned
    }

    public func writeFile(_ bytes: [UInt8], at relativePath: String) throws -> String {
        // Plain path strings: this runs for every frame, and URL manipulation costs more than the write.
        let destination = try path(relativePath)
        let slash = destination.lastIndex(of: "/")!
        let folder = String(destination[..<slash])
        let name = destination[destination.index(after: slash)...]
        let temporary = "\(folder)/.\(name).\(UInt32.random(in: 0...UInt32.max)).tmp"
        var fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640)
        if fd < 0 && errno == ENOENT {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640)
        }
        guard fd >= 0 else { throw MediaStoreError.io("create \(name)", errno) }
        var written = 0
        let writeFailed: Int32? = bytes.withUnsafeBytes { buffer in
            while written < buffer.count {
                let result = Glibc.write(fd, buffer.baseAddress! + written, buffer.count - written)
                if result < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                written += result
            }
            return nil
        }
        if let writeFailed {
            close(fd)
            unlink(temporary)
            throw MediaStoreError.io("write", writeFailed)
        }
        // The bytes reach the disk before the name does, so a crash never leaves a short file under the real name.
        guard fsync(fd) == 0 else {
            let error = errno
            close(fd)
            unlink(temporary)
            throw MediaStoreError.io("fsync", error)
        }
        close(fd)
        guard rename(temporary, destination) == 0 else {
            let error = errno
            unlink(temporary)
            throw MediaStoreError.io("rename", error)
        }
        return Self.scheme + relativePath
    }

    public func adopt(fileAt source: URL, at relativePath: String) throws -> String {
        let destination = try url(relativePath)
        try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        if rename(source.path, destination.path) != 0 {
            guard errno == EXDEV else { throw MediaStoreError.io("rename \(source.lastPathComponent)", errno) }
            // Another file system: copy durably under the real name, then remove the original.
            guard let bytes = FileManager.default.contents(atPath: source.path) else {
                throw MediaStoreError.io("read \(source.lastPathComponent)", errno)
            }
            _ = try writeFile(Array(bytes), at: relativePath)
            unlink(source.path)
        } else {
            let fd = open(destination.path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw MediaStoreError.io("open \(destination.lastPathComponent)", errno) }
            defer { close(fd) }
            guard fsync(fd) == 0 else { throw MediaStoreError.io("fsync", errno) }
        }
        let uri = Self.scheme + relativePath
        try syncFolders(of: [uri])
        return uri
    }

    public func files(under folder: String) throws -> [StoredFile] {
        let base = try url(folder)
        guard let enumerator = FileManager.default.enumerator(atPath: base.path) else { return [] }
        var found: [StoredFile] = []
        while let relative = enumerator.nextObject() as? String {
            let attributes = try? FileManager.default.attributesOfItem(atPath: base.path + "/" + relative)
            guard attributes?[.type] as? FileAttributeType == .typeRegular else { continue }
            found.append(StoredFile(uri: Self.scheme + folder + "/" + relative,
                                    byteSize: (attributes?[.size] as? NSNumber)?.int64Value ?? 0,
                                    modified: attributes?[.modificationDate] as? Date ?? .distantPast))
        }
        return found
    }

    public func link(_ uri: String, to relativePath: String) throws -> String {
        let source = try path(of: uri).path
        let destination = try path(relativePath)
        try FileManager.default.createDirectory(atPath: String(destination[..<destination.lastIndex(of: "/")!]),
                                                withIntermediateDirectories: true)
        if Glibc.link(source, destination) != 0 {
            // Already linked by an earlier attempt that stopped before its rows were committed.
            guard errno == EEXIST, FileManager.default.contentsEqual(atPath: source, andPath: destination) else {
                throw MediaStoreError.io("link \(relativePath)", errno)
            }
        }
        let linked = Self.scheme + relativePath
        try syncFolders(of: [linked])
        return linked
    }

    /// Where a frame kept for an event lives: `events/<device>/<YYYY-MM-DD>/<capture>.jpg` (seed 004).
    public static func eventPath(device: String, day: Date, captureId: UUID) -> String {
        "events/\(safeComponent(device))/\(dayFolder(day))/\(captureId.uuidString.lowercased()).jpg"
    }

    /// Where an image made for an event lives: `events/<device>/<YYYY-MM-DD>/<event>/<role>.jpg` (seed 004).
    public static func derivedEventPath(device: String, day: Date, eventId: UUID, role: String) -> String {
        "events/\(safeComponent(device))/\(dayFolder(day))/\(eventId.uuidString.lowercased())/\(safeComponent(role)).jpg"
    }

    public func syncFolders(of uris: some Collection<String>) throws {
        let folders = Set(try uris.map { try path(of: $0).deletingLastPathComponent().path })
        for folder in folders {
            let fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard fd >= 0 else { throw MediaStoreError.io("open \(folder)", errno) }
            defer { close(fd) }
            guard fsync(fd) == 0 else { throw MediaStoreError.io("fsync \(folder)", errno) }
        }
    }

    /// The file's bytes, read to its end with plain system calls (no Data in between; a file
    /// still being written by a slow device is waited for, not taken as missing).
    public func read(_ uri: String) throws -> [UInt8] {
        let fd = open(try path(of: uri).path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw errno == ENOENT ? MediaStoreError.missing(uri) : MediaStoreError.io("open", errno) }
        defer { close(fd) }
        var status = stat()
        var bytes: [UInt8] = []
        if fstat(fd, &status) == 0, status.st_size > 0 { bytes.reserveCapacity(Int(status.st_size)) }
        var chunk = [UInt8](repeating: 0, count: 256 << 10)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count == 0 { return bytes }
            if count < 0 {
                if errno == EINTR { continue }
                throw MediaStoreError.io("read", errno)
            }
            bytes.append(contentsOf: chunk[0..<count])
        }
    }

    public func remove(_ uri: String) throws {
        let file = try path(of: uri)
        if unlink(file.path) != 0 && errno != ENOENT {
            throw MediaStoreError.io("unlink", errno)
        }
    }

    public func uri(for relativePath: String) -> String {
        Self.scheme + relativePath
    }

    public func exists(_ uri: String) -> Bool {
        guard let file = try? path(of: uri) else { return false }
        return FileManager.default.fileExists(atPath: file.path)
    }

    public func path(of uri: String) throws -> URL {
        guard uri.hasPrefix(Self.scheme) else { throw MediaStoreError.foreignURI(uri) }
        return try url(String(uri.dropFirst(Self.scheme.count)))
    }

    /// Refuses paths that would leave the root.
    private func url(_ relativePath: String) throws -> URL {
        URL(fileURLWithPath: try path(relativePath))
    }

    /// The absolute path of `relativePath`, refusing paths that would leave the root.
    private func path(_ relativePath: String) throws -> String {
        let components = relativePath.split(separator: "/")
        guard !relativePath.hasPrefix("/"), !components.isEmpty, !components.contains(".."), !components.contains(".") else {
            throw MediaStoreError.foreignURI(relativePath)
        }
        return rootPath + "/" + relativePath
    }
}

public enum MediaStoreError: Error, CustomStringConvertible, Equatable {
    case io(String, Int32)
    case missing(String)
    case foreignURI(String)

    public var description: String {
        switch self {
        case .io(let step, let code): "media storage: \(step) failed: \(String(cString: strerror(code)))"
        case .missing(let uri): "media storage: \(uri) is missing"
        case .foreignURI(let uri): "media storage: \(uri) is not a path inside the media folder"
        }
    }
}
