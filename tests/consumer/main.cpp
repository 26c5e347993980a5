// Builds a pix2pix generator and a loss from the installed facegan package and runs one step.
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
    return loss.item<double>() > 0.0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "consumer: " << facegan::error_message(e) << std::endl;
    return 1;
  }
}
