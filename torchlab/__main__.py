from torchlab.cli import main

main()
