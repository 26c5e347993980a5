#include <facegan/losses/histogram.hpp>

namespace facegan::losses {

torch::Tensor histogram_matched(const torch::Tensor& image, const torch::Tensor& mask, const torch::Tensor& reference,
                                const torch::Tensor& reference_mask) {
  TORCH_CHECK(image.dim() == 4 && reference.dim() == 4 && image.size(0) == reference.size(0) && image.size(1) == reference.size(1),
              "histogram_matched: image and reference must be [N, C, H, W] with equal N and C, got ", image.sizes(), " and ",
              reference.sizes());
  auto flat = [](const torch::Tensor& m, const torch::Tensor& like, const char* what) {
    torch::Tensor f = m.dim() == 4 ? m.squeeze(1) : m;
    TORCH_CHECK(f.dim() == 3 && f.size(0) == like.size(0) && f.size(1) == like.size(2) && f.size(2) == like.size(3),
                "histogram_matched: ", what, " must be [N, H, W] or [N, 1, H, W] of its image, got ", m.sizes());
    return (f != 0).flatten(1);
  };
  const torch::Tensor im = flat(mask, image, "mask"), rm = flat(reference_mask, reference, "reference_mask");
  torch::NoGradGuard no_grad;
  torch::Tensor out = image.detach().clone();
  const int64_t n = image.size(0), c = image.size(1);
  torch::Tensor out_flat = out.view({n, c, -1});
  const torch::Tensor ref_flat = reference.detach().reshape({n, c, -1});
  for (int64_t i = 0; i < n; ++i) {
    const torch::Tensor src_idx = im[i].nonzero().squeeze(1), ref_idx = rm[i].nonzero().squeeze(1);
    const int64_t ns = src_idx.size(0), nr = ref_idx.size(0);
    if (ns == 0 || nr == 0) continue;
    // Rank k of n -> reference rank floor(k m / n).
    const torch::Tensor pick = torch::div(torch::arange(ns, src_idx.options()) * nr, ns, "floor");
    for (int64_t ch = 0; ch < c; ++ch) {
      const torch::Tensor src = out_flat[i][ch].index_select(0, src_idx);
      const torch::Tensor ref_sorted = std::get<0>(ref_flat[i][ch].index_select(0, ref_idx).sort());
      const torch::Tensor order = std::get<1>(src.sort());
      torch::Tensor matched = torch::empty_like(src);
      matched.index_put_({order}, ref_sorted.index_select(0, pick));
      out_flat[i][ch].index_put_({src_idx}, matched);
    }
  }
  return out;
}

}  // namespace facegan::losses
