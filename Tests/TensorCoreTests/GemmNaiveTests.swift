import Testing
import TensorCore

@Suite struct GemmNaiveTests {
    /// A 2x3 by 3x2 product small enough to check by hand.
    @Test func handComputedProduct() {
        let a: [Float] = [1, 2, 3, 4, 5, 6]          // (2, 3)
        let b: [Float] = [7, 8, 9, 10, 11, 12]       // (3, 2)
        var c = [Float](repeating: .nan, count: 4)
        Gemm.multiplyNaive(m: 2, n: 2, k: 3, a: a, lda: 3, transA: false, b: b, ldb: 2, transB: false, c: &c, ldc: 2)
        #expect(c == [58, 64, 139, 154])
    }
}
