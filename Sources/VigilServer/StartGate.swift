import ServiceLifecycle
import Synchronization

/// Opens once, for good; those waiting go on when it does.
final class StartGate: Sendable {
    private let state = Mutex<(open: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))

    func open() {
        let waiting = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiting = [] }
            return state.waiting
        }
        waiting.forEach { $0.resume() }
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let isOpen = state.withLock { state in
                if !state.open { state.waiting.append(continuation) }
                return state.open
            }
            if isOpen { continuation.resume() }
        }
    }
}

/// A service that starts only once its gate opens (the schema is ready), and stops without
/// starting if shutdown comes first.
struct GatedService: Service {
    let service: any Service
    let gate: StartGate

    init(_ service: any Service, gate: StartGate) {
        self.service = service
        self.gate = gate
    }

    func run() async throws {
        await cancelWhenGracefulShutdown { [gate] in
            // At shutdown before the start, the wait ends (and the service does not start).
            await withTaskCancellationHandler { await gate.wait() } onCancel: { gate.open() }
        }
        guard !Task.isCancelled, !Task.isShuttingDownGracefully else { return }
        try await service.run()
    }
}
