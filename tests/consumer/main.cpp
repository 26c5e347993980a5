// Builds a pix2pix generator and a loss from the installed facegan package and runs one step; the
// built-in tasks and data sets are registered in this static link without the program asking.
#include <facegan/facegan.hpp>

#include <iostream>

int main() {
  try {
    torch::manual_seed(0);
    facegan::models::UNetGenerator g(facegan::models::UNetGeneratorOptions(3, 3).depth(5).base_channels(8));
    auto l1 = facegan::losses::create_loss_as<facegan::losses::ReconstructionLoss>({{"type", "l1"}}, "l1");
    const auto x = torch::randn({2, 3, 32, 32});
    const auto loss = (*l1)(g->forward(x), x);
    loss.backward();
    std::cout << "consumer: unet params " << facegan::models::count_parameters(*g) << ", l1 " << loss.item<double>()
              << std::endl;
    // The registries fill themselves from src/builtin/builtins.cpp, which only a link-time
    // reference from each registry accessor brings into this program.
    if (!facegan::train::task_registry().contains("pix2pix") ||
        !facegan::data::dataset_registry().contains("synthetic_pairs")) {
      std::cerr << "consumer: the built-in tasks or data sets are not registered" << std::endl;
      return 1;
    }
    return loss.item<double>() > 0.0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "consumer: " << facegan::error_message(e) << std::endl;
    return 1;
  }
}
