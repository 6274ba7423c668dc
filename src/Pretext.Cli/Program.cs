using Pretext.Cli;

return PretextCli.Run(args);
