from hybridkit.cli import main

main()
