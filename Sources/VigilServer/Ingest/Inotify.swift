import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Linux inotify over a folder tree: reports files closed after writing or moved in, and new
/// folders (which it then watches too). A dedicated thread blocks in `poll`, so no request thread
/// ever waits on the file system.
final class Inotify: Sendable {
    enum Event: Sendable, Equatable {
        /// A file was closed after being written, or renamed into a watched folder: it is whole.
        case fileComplete(String)
        /// A file was created and is being written.
        case fileOpened(String)
        case folderCreated(String)
        /// The kernel dropped events; the caller should rescan.
        case overflow
    }

    private let descriptor: Int32
    private let watches = Mutex<[Int32: String]>([:])
    private let stopped = Mutex(false)

    init() throws {
        descriptor = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard descriptor >= 0 else { throw InotifyError.unavailable(errno) }
    }

    deinit {
        close(descriptor)
    }

    /// Watches `folder` (not its subfolders: call again for each).
    func watch(_ folder: String) throws {
        let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ONLYDIR)
        let wd = inotify_add_watch(descriptor, folder, mask)
        guard wd >= 0 else { throw InotifyError.watchFailed(folder, errno) }
        watches.withLock { $0[wd] = folder }
    }

    /// The events, until the stream's consumer stops listening.
    func events() -> AsyncStream<Event> {
        let (stream, continuation) = AsyncStream<Event>.makeStream(bufferingPolicy: .bufferingNewest(65_536))
        continuation.onTermination = { [self] _ in stopped.withLock { $0 = true } }
        let thread = Thread { [self] in readLoop(into: continuation) }
        thread.name = "vigil-inotify"
        thread.start()
        return stream
    }

    private func readLoop(into continuation: AsyncStream<Event>.Continuation) {
        let bufferSize = 64 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: MemoryLayout<inotify_event>.alignment)
        defer { buffer.deallocate() }
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        while !stopped.withLock({ $0 }) {
            // Wakes at least twice a second to notice that the consumer has gone.
            guard poll(&poller, 1, 500) > 0 else { continue }
            let count = read(descriptor, buffer, bufferSize)
            guard count > 0 else { continue }
            var offset = 0
            while offset < count {
                let event = buffer.load(fromByteOffset: offset, as: inotify_event.self)
                let headerSize = MemoryLayout<inotify_event>.size
                var name = ""
                if event.len > 0 {
                    let namePointer = (buffer + offset + headerSize).assumingMemoryBound(to: CChar.self)
                    name = String(cString: namePointer)
                }
                offset += headerSize + Int(event.len)
                if event.mask & UInt32(IN_Q_OVERFLOW) != 0 {
                    continuation.yield(.overflow)
                    continue
                }
                guard let folder = watches.withLock({ $0[event.wd] }), !name.isEmpty else { continue }
                let path = folder + "/" + name
                if event.mask & UInt32(IN_ISDIR) != 0 {
                    if event.mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0 { continuation.yield(.folderCreated(path)) }
                } else if event.mask & UInt32(IN_CLOSE_WRITE | IN_MOVED_TO) != 0 {
                    continuation.yield(.fileComplete(path))
                } else if event.mask & UInt32(IN_CREATE) != 0 {
                    continuation.yield(.fileOpened(path))
                }
            }
        }
        continuation.finish()
    }
}

enum InotifyError: Error, CustomStringConvertible {
    case unavailable(Int32)
    case watchFailed(String, Int32)

    var description: String {
        switch self {
        case .unavailable(let code): "inotify is unavailable: \(String(cString: strerror(code)))"
        case .watchFailed(let folder, let code): "cannot watch \(folder): \(String(cString: strerror(code)))"
        }
    }
}
