from stripe_kpi.cli import main

main()
